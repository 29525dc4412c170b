"""Server-side apply's field sets and managers (services.apiserver.fieldsets, .apply): the
FieldsV1 format, merges by merge key, pruning what a manager stops applying, conflicts in
upstream's words, Update entries; with hypothesis: apply is idempotent, and applying a
subset removes exactly the dropped fields."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.secret_fields import LAST_APPLIED
from services.apiserver.apply import ApplyConflict, applied, managers_of, updated
from services.apiserver.fieldsets import fields_of, from_fields_v1, path_text, to_fields_v1

NOW, LATER = "2026-11-28T14:00:00Z", "2026-11-28T15:00:00Z"


def deployment(replicas: int | None = 2, *, image: str = "nginx", env: bool = True) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": image}
    if env:
        container["env"] = [{"name": "A", "value": "1"}]
    spec: dict[str, Any] = {"selector": {"matchLabels": {"app": "web"}},
                            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [container]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}}, "spec": spec}


def apply(live: dict[str, Any] | None, config: dict[str, Any], manager: str = "kubectl", *,
          force: bool = False, now: str = NOW) -> dict[str, Any]:
    return applied(live, config, manager=manager, api_version="apps/v1", now=now, force=force)


def test_fields_v1_is_kubernetes_format() -> None:
    fields = to_fields_v1(fields_of(deployment()))
    container = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"main"}']
    assert container == {".": {}, "f:env": {'k:{"name":"A"}': {".": {}, "f:name": {}, "f:value": {}}},
                         "f:image": {}, "f:name": {}}
    assert fields["f:metadata"] == {"f:labels": {"f:app": {}}}  # name and namespace are nobody's
    assert list(fields["f:spec"]) == ["f:replicas", "f:selector", "f:template"]
    assert from_fields_v1(fields) == fields_of(deployment())
    assert to_fields_v1(fields_of({"metadata": {"finalizers": ["a/b"]}})) == {"f:metadata": {"f:finalizers": {
        'v:"a/b"': {}}}}


def test_paths_print_as_upstream() -> None:
    assert path_text(("f:spec", "f:replicas")) == ".spec.replicas"
    assert path_text(("f:spec", "f:containers", 'k:{"name":"main"}', "f:image")) == \
        '.spec.containers[name="main"].image'
    assert path_text(("f:metadata", "f:finalizers", 'v:"x"')) == '.metadata.finalizers[="x"]'


def test_apply_creates_then_removes_what_the_manager_stops_applying() -> None:
    first = apply(None, deployment())
    [entry] = first["metadata"]["managedFields"]
    assert {k: entry[k] for k in ("manager", "operation", "apiVersion", "time", "fieldsType")} == \
        {"manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1", "time": NOW, "fieldsType": "FieldsV1"}
    second = apply(first, deployment(env=False, replicas=None), now=LATER)
    assert "replicas" not in second["spec"]
    assert second["spec"]["template"]["spec"]["containers"] == [{"name": "main", "image": "nginx"}]
    assert from_fields_v1(second["metadata"]["managedFields"][0]["fieldsV1"]) == \
        fields_of(deployment(env=False, replicas=None))


def test_a_field_another_manager_owns_is_a_conflict_unless_forced() -> None:
    created = updated(None, deployment(), manager="kubectl-client-side-apply", api_version="apps/v1", now=NOW)
    with pytest.raises(ApplyConflict) as caught:
        apply(created, deployment(replicas=5))
    assert caught.value.message == ('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" '
                                    "using apps/v1: .spec.replicas")
    assert caught.value.causes == [{"type": "FieldManagerConflict", "field": ".spec.replicas",
                                    "message": 'conflict with "kubectl-client-side-apply" using apps/v1'}]
    same = apply(created, deployment())  # the same values: shared, no conflict
    assert {m.manager for m in managers_of(same).values()} == {"kubectl", "kubectl-client-side-apply"}
    forced = apply(created, deployment(replicas=5, image="httpd"), force=True)
    assert forced["spec"]["replicas"] == 5
    other = managers_of(forced)[("kubectl-client-side-apply", "Update")].fields
    assert ("f:spec", "f:replicas") not in other and ("f:metadata", "f:labels", "f:app") in other


def test_conflicts_with_several_fields_list_them_by_manager() -> None:
    created = updated(None, deployment(), manager="kubectl-create", api_version="apps/v1", now=NOW)
    with pytest.raises(ApplyConflict) as caught:
        apply(created, deployment(replicas=5, image="httpd"))
    assert caught.value.message == ('Apply failed with 2 conflicts: conflicts with "kubectl-create" using apps/v1:\n'
                                    '- .spec.replicas\n- .spec.template.spec.containers[name="main"].image')


def test_an_update_takes_the_fields_it_changes_and_removes_the_removed() -> None:
    applied_once = apply(None, deployment())
    edited = {**applied_once, "spec": {**applied_once["spec"], "replicas": 7}}
    after = updated(applied_once, edited, manager="kubectl-edit", api_version="apps/v1", now=LATER)
    managers = managers_of(after)
    assert managers[("kubectl-edit", "Update")].fields == {("f:spec", "f:replicas")}
    assert ("f:spec", "f:replicas") not in managers[("kubectl", "Apply")].fields
    assert [e["operation"] for e in after["metadata"]["managedFields"]] == ["Apply", "Update"]
    unchanged = updated(after, after, manager="other", api_version="apps/v1", now=LATER)
    assert unchanged["metadata"]["managedFields"] == after["metadata"]["managedFields"]


def test_an_untracked_object_is_handed_to_before_first_apply() -> None:
    live = deployment()
    assert updated(live, deployment(replicas=3), manager="x", api_version="apps/v1", now=NOW) == deployment(3)
    with pytest.raises(ApplyConflict, match='conflict with "before-first-apply" using apps/v1: .spec.replicas'):
        apply(live, deployment(replicas=3))


def client_side_applied(replicas: int = 2) -> dict[str, Any]:
    """A deployment as client-side kubectl apply leaves it: the annotation and its manager's fields."""
    obj = deployment(replicas)
    last = json.dumps(obj, sort_keys=True)
    obj["metadata"]["annotations"] = {LAST_APPLIED: last}
    return updated(None, obj, manager="kubectl-client-side-apply", api_version="apps/v1", now=NOW)


def test_kubectl_takes_over_what_client_side_apply_last_applied_and_keeps_the_annotation() -> None:
    upgraded = apply(client_side_applied(), deployment(replicas=5))  # replicas still holds its last-applied 2
    assert upgraded["spec"]["replicas"] == 5
    assert json.loads(upgraded["metadata"]["annotations"][LAST_APPLIED]) == deployment(replicas=5)
    with pytest.raises(ApplyConflict, match='conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas'):
        apply(client_side_applied(), deployment(replicas=5), "deployer")  # another manager: a conflict
    scaled = client_side_applied()
    scaled = updated(scaled, {**scaled, "spec": {**scaled["spec"], "replicas": 4}}, manager="kubectl-scale",
                     api_version="apps/v1", now=LATER)
    with pytest.raises(ApplyConflict, match='conflict with "kubectl-scale" using apps/v1: .spec.replicas'):
        apply(scaled, deployment(replicas=5))  # 4 is not what was last applied


def test_an_update_through_a_subresource_is_its_own_entry() -> None:
    live = apply(None, deployment())
    scaled = updated(live, {**live, "spec": {**live["spec"], "replicas": 4}}, manager="kubectl-scale",
                     api_version="apps/v1", now=LATER, subresource="scale")
    entry = managers_of(scaled)[("kubectl-scale", "Update", "scale")].entry()
    assert entry["subresource"] == "scale" and entry["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert managers_of(scaled) == managers_of({"metadata": {"managedFields": scaled["metadata"]["managedFields"]}})


def test_beyond_ten_updaters_the_oldest_become_ancient_changes() -> None:
    obj = updated(None, {"metadata": {"name": "c"}, "data": {"k0": "v"}}, manager="m00", api_version="v1",
                  now="2026-11-28T14:00:00Z")
    for n in range(1, 12):
        new = {**obj, "data": {**obj["data"], f"k{n}": "v"}}
        obj = updated(obj, new, manager=f"m{n:02}", api_version="v1", now=f"2026-11-28T14:{n:02}:00Z")
    managers = managers_of(obj)
    assert len(managers) == 10 and ("m00", "Update") not in managers and ("m02", "Update") not in managers
    ancient = managers[("ancient-changes", "Update")]
    assert ancient.fields == {("f:data", "f:k0"), ("f:data", "f:k1"), ("f:data", "f:k2")}
    assert ancient.time == "2026-11-28T14:02:00Z"


# -- properties -----------------------------------------------------------------------
names = st.sampled_from(["a", "b", "c", "d"])
scalars = st.one_of(st.integers(-3, 3), st.text("xyz", max_size=2), st.booleans())
containers = st.lists(st.fixed_dictionaries({"name": st.sampled_from(["m", "n", "o"])}, optional={"image": scalars}),
                      min_size=1, max_size=3, unique_by=lambda c: c["name"])
values = st.recursive(st.one_of(scalars, st.lists(scalars, max_size=2)),
                      lambda inner: st.dictionaries(names, inner, min_size=1, max_size=3), max_leaves=8)
configs = st.builds(lambda spec, cs: {"apiVersion": "v1", "kind": "Thing", "metadata": {"name": "t"},
                                      "spec": {**spec, "containers": cs}},
                    st.dictionaries(names, values, max_size=3), containers)


def subset(config: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    spec = config["spec"]
    kept = data.draw(st.sets(st.sampled_from(sorted(spec)), min_size=1))  # not `spec: {}`, a leaf of its own
    return {**config, "spec": {k: v for k, v in spec.items() if k in kept}}


def owned(obj: dict[str, Any]) -> dict[str, Any]:
    return {**obj, "metadata": {k: v for k, v in obj["metadata"].items() if k != "managedFields"}}


@settings(max_examples=150, deadline=None)
@given(configs)
def test_apply_is_idempotent(config: dict[str, Any]) -> None:
    once = apply(None, config)
    twice = apply(once, config, now=LATER)
    assert owned(twice) == owned(once) and fields_of(twice) == fields_of(config)
    assert from_fields_v1(twice["metadata"]["managedFields"][0]["fieldsV1"]) == fields_of(config)


@settings(max_examples=150, deadline=None)
@given(configs, st.data())
def test_applying_a_subset_removes_exactly_the_dropped_fields(config: dict[str, Any], data: st.DataObject) -> None:
    smaller = subset(config, data)
    after = apply(apply(None, config), smaller, now=LATER)
    assert fields_of(after) == fields_of(smaller)
    assert owned(after) == owned({**smaller, "metadata": config["metadata"]})
