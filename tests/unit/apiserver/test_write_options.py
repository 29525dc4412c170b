"""A write's options from its query (services.apiserver.write_options), as upstream
validates them: dryRun=All only, the field manager from the User-Agent by default, force
only on apply patches, which need a field manager."""

from __future__ import annotations

import pytest
from multidict import MultiDict

from services.apiserver.http import BadBody
from services.apiserver.write_options import WriteOptions, manager_from_user_agent, write_options

KUBECTL = "kubectl/v1.32.4 (linux/amd64) kubernetes/59526cd"


def test_the_field_manager_defaults_to_the_user_agent_before_its_first_slash() -> None:
    assert write_options(MultiDict(), KUBECTL, "Create") == WriteOptions(field_manager="kubectl")
    assert manager_from_user_agent("a\x00b/c") == "ab" and len(manager_from_user_agent("x" * 300)) == 128
    named = write_options(MultiDict(fieldManager="kubectl-edit", dryRun="All"), KUBECTL, "Update")
    assert named == WriteOptions(dry_run=True, field_manager="kubectl-edit")
    forced = write_options(MultiDict(fieldManager="kubectl", force="true"), KUBECTL, "Patch", applying=True)
    assert forced.force


@pytest.mark.parametrize(("query", "verb", "applying", "message"), [
    (MultiDict(dryRun="Some"), "Create", False,
     'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: "Some": supported values: "All"'),
    (MultiDict(), "Patch", True,
     'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch'),
    (MultiDict(force="true"), "Patch", False,
     'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch'),
])
def test_invalid_options_are_upstreams_invalid(query: MultiDict[str], verb: str, applying: bool,
                                               message: str) -> None:
    with pytest.raises(BadBody) as caught:
        write_options(query, KUBECTL, verb, applying=applying)  # type: ignore[arg-type]
    assert (str(caught.value), caught.value.reason) == (message, "Invalid")
