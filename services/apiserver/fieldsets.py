"""Field sets, the algebra of server-side apply: which fields of an object a manager owns,
in Kubernetes' `FieldsV1` format. A path is the tuple of its `FieldsV1` keys from the
root: `f:<name>` a field of a map, `k:{"name":"main"}` the item of a list merged by its
key (the merge keys of `services.apiserver.smp`), `v:"x"` a value of a list of strings
merged as a set (finalizers); every other list is atomic, one leaf. A set holds leaves and
list items (upstream's members), never a map's own path. Pure; used by
`services.apiserver.apply`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from services.apiserver.smp import MERGED_PRIMITIVES, merge_key

Obj = dict[str, Any]
Path = tuple[str, ...]
FieldSet = frozenset[Path]
SERVER_METADATA = frozenset({"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                             "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink"})
"""Metadata nobody owns (upstream's stripped fields): the object's identity and what the server sets."""
MEMBER = "."


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def item_key(item: Obj, key: str) -> str:
    return f"k:{_json({key: item.get(key)})}"


def _walk(value: Any, field: str, at: Path) -> Iterator[Path]:
    if isinstance(value, dict) and value:
        for name, child in value.items():
            yield from _walk(child, name, (*at, f"f:{name}"))
    elif isinstance(value, list) and value and (key := merge_key(field, value)):
        for item in value:
            yield (*at, item_key(item, key))
            yield from _walk(item, field, (*at, item_key(item, key)))
    elif isinstance(value, list) and value and field in MERGED_PRIMITIVES and \
            all(not isinstance(v, (dict, list)) for v in value):
        yield from ((*at, f"v:{_json(v)}") for v in value)
    else:
        yield at


def owned_part(obj: Obj) -> Obj:
    """What of an object anyone can own: no apiVersion, kind, status, server metadata."""
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in SERVER_METADATA}
    return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "status", "metadata")} | \
        ({"metadata": meta} if meta else {})


def fields_of(obj: Obj | None) -> FieldSet:
    """Every field an object sets."""
    return frozenset(_walk(owned_part(obj), "", ())) - {()} if obj else frozenset()


def to_fields_v1(fields: FieldSet) -> Obj:
    """The set as `fieldsV1`: nested keys, `"."` marking a list item that has fields of its own."""
    tree: Obj = {}
    for path in fields:
        node = tree
        for element in path:
            node = node.setdefault(element, {})
    for path in fields:
        node = tree
        for element in path:
            node = node[element]
        if node and MEMBER not in node:
            node[MEMBER] = {}
    return _sorted(tree)


def _sorted(tree: Obj) -> Obj:
    return {k: _sorted(tree[k]) for k in sorted(tree, key=lambda k: (k != MEMBER, k))}


def from_fields_v1(tree: Obj, at: Path = ()) -> FieldSet:
    """The set a `fieldsV1` describes."""
    found: set[Path] = set()
    for element, child in tree.items():
        if element == MEMBER:
            continue
        path = (*at, element)
        if not child or MEMBER in child:
            found.add(path)
        found |= from_fields_v1(child or {}, path)
    return frozenset(found)


def _step(container: Any, element: str) -> tuple[bool, Any]:
    """(found, where) of one path element in a map or list."""
    kind, _, text = element.partition(":")
    if kind == "f" and isinstance(container, dict) and text in container:
        return True, text
    if kind in ("k", "v") and isinstance(container, list):
        wanted = orjson.loads(text)
        for at, item in enumerate(container):
            if (kind == "v" and item == wanted) or (kind == "k" and isinstance(item, dict) and
                                                   all(item.get(k) == v for k, v in wanted.items())):
                return True, at
    return False, None


def value_at(obj: Any, path: Path) -> tuple[bool, Any]:
    """(found, value) at a path."""
    for element in path:
        found, where = _step(obj, element)
        if not found:
            return False, None
        obj = obj[where]
    return True, obj


def without(obj: Obj, paths: FieldSet) -> Obj:
    """The object without the fields at `paths`; a map or list left empty by that goes too."""
    result = orjson.loads(orjson.dumps(obj))
    for path in sorted(paths, key=len):  # a list item before its fields (found by its key)
        _remove(result, path)
    return dict(result)


def _remove(container: Any, path: Path) -> bool:
    """Remove `path` below `container`; True when `container` is left empty by it."""
    found, where = _step(container, path[0])
    if not found:
        return False
    if len(path) == 1 or _remove(container[where], path[1:]):
        del container[where]
        return not container
    return False


def changes(old: Obj | None, new: Obj) -> tuple[FieldSet, FieldSet, FieldSet]:
    """(added, modified, removed) fields from `old` to `new`; modified: leaves whose value differs."""
    before, after = fields_of(old), fields_of(new)
    parents = {path[:n] for path in after for n in range(1, len(path))}
    modified = frozenset(p for p in before & after if p not in parents and value_at(old, p) != value_at(new, p))
    return after - before, modified, before - after


def path_text(path: Path) -> str:
    """Upstream's printed path: `.spec.replicas`, `.spec.containers[name="main"].image`, `[="x"]`."""
    text = ""
    for element in path:
        kind, _, rest = element.partition(":")
        if kind == "f":
            text += f".{rest}"
        elif kind == "k":
            text += "[" + ",".join(f"{k}={_json(v)}" for k, v in orjson.loads(rest).items()) + "]"
        else:
            text += f"[={rest}]"
    return text
