"""Strategic merge patch, the part kubectl's client-side `apply`, `patch` (its default
type), `label`, `annotate` and `rollout restart` send: a JSON merge patch whose lists of
objects merge by their Kubernetes merge key (containers by `name`, container ports by
`containerPort`, Service ports by `port`, ...), with the `$patch: replace|delete`
directives; `$setElementOrder/…`, `$retainKeys` and `$deleteFromPrimitiveList/…` are
honoured as far as: order directives are dropped, `$deleteFromPrimitiveList` removes the
values. Merge keys come from the field's name (`MERGE_KEYS`), not from per-type schemas:
a list not named there is replaced, as a merge patch does. Pure; used by
`services.apiserver.writes`."""

from __future__ import annotations

import copy
from typing import Any

MERGE_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",), "initContainers": ("name",), "ephemeralContainers": ("name",),
    "env": ("name",), "volumes": ("name",), "volumeMounts": ("mountPath",), "volumeDevices": ("devicePath",),
    "imagePullSecrets": ("name",), "hostAliases": ("ip",), "conditions": ("type",),
    "ownerReferences": ("uid",), "topologySpreadConstraints": ("topologyKey",),
    "ports": ("containerPort", "port"),  # a container's ports, a Service's ports
}
"""patchMergeKey of the lists of the built-in kinds Kafkube serves, by field name."""
MERGED_PRIMITIVES = frozenset({"finalizers"})  # patchStrategy merge on a list of strings


class StrategicPatchError(ValueError):
    """A patch this module cannot apply (a directive it does not know)."""


def merge_key(field: str, items: list[Any]) -> str | None:
    for key in MERGE_KEYS.get(field, ()):
        if items and all(isinstance(i, dict) and key in i for i in items):
            return key
    return None


def _merge_list(field: str, current: list[Any], patch: list[Any]) -> list[Any]:
    if field in MERGED_PRIMITIVES and all(not isinstance(i, (dict, list)) for i in patch):
        return [*current, *(i for i in patch if i not in current)]
    key = merge_key(field, [i for i in patch if not (isinstance(i, dict) and "$patch" in i and len(i) == 1)])
    if key is None or not all(isinstance(i, dict) for i in current):
        return [strip_directives(i) for i in patch]
    result = [copy.deepcopy(i) for i in current]
    for item in patch:
        at = next((n for n, c in enumerate(result) if c.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            if at is not None:
                del result[at]
        elif at is None:
            result.append(strip_directives(item))
        else:
            result[at] = strategic_merge(result[at], item)
    return result


def strip_directives(value: Any) -> Any:
    """`value` without any `$…` key (a new element keeps only its fields)."""
    if isinstance(value, dict):
        return {k: strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [strip_directives(v) for v in value]
    return value


def strategic_merge(target: Any, patch: Any) -> Any:
    """`target` with `patch` merged in strategically; neither is mutated."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return strip_directives({k: v for k, v in patch.items() if k != "$patch"})
    if directive == "delete":
        return None
    if directive is not None:
        raise StrategicPatchError(f"unknown patch directive $patch: {directive!r}")
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            result[field] = [v for v in result.get(field) or [] if v not in (value or [])]
        elif key.startswith("$"):
            continue  # $setElementOrder/…, $retainKeys: order and pruning hints
        elif value is None:
            result.pop(key, None)
        elif isinstance(value, list) and isinstance(result.get(key), list):
            result[key] = _merge_list(key, result[key], value)
        else:
            merged = strategic_merge(result.get(key), value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
    return result
