"""`labelSelector` and `fieldSelector` of a list or watch, parsed as upstream's
`labels.Parse` and `fields.ParseSelector` read them, into predicates on an object.

Labels: `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, comma-separated
(all must hold). Fields: `f=v`, `f==v`, `f!=v` on `metadata.name`, `metadata.namespace`,
`spec.nodeName` (pods), `status.phase` (pods, namespaces). Pure; used by the CLI's `get -l` and
`services.apiserver.resources` and `services.apiserver.watch`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]

FIELDS: dict[str, Callable[[Obj], str]] = {
    "metadata.name": lambda o: str((o.get("metadata") or {}).get("name") or ""),
    "metadata.namespace": lambda o: str((o.get("metadata") or {}).get("namespace") or ""),
    "spec.nodeName": lambda o: str((o.get("spec") or {}).get("nodeName") or ""),
    "status.phase": lambda o: str((o.get("status") or {}).get("phase") or ""),
}


class SelectorError(ValueError):
    """A selector that does not parse: a 400 BadRequest naming the problem."""


_SET = re.compile(r"^\s*(!?)\s*([^\s=!(),]+)\s*(?:(in|notin)\s*\(([^)]*)\)|(==|=|!=)\s*([^\s,]*))?\s*$")


def _split(text: str) -> list[str]:
    """Split on the commas that are not inside `( )`."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [p for p in [*parts, current] if p.strip()]


def _requirement(text: str) -> Predicate:
    match = _SET.match(text)
    if match is None:
        raise SelectorError(f"unable to parse requirement: {text.strip()!r}")
    negated, key, set_op, values, op, value = match.groups()
    if negated and (set_op or op):
        raise SelectorError(f"unable to parse requirement: {text.strip()!r}")
    if set_op:
        chosen = {v.strip() for v in values.split(",") if v.strip()}
        if set_op == "in":
            return lambda o: _labels(o).get(key) in chosen
        return lambda o: _labels(o).get(key) not in chosen
    if op in ("=", "=="):
        return lambda o: _labels(o).get(key) == value
    if op == "!=":
        return lambda o: _labels(o).get(key) != value
    if negated:
        return lambda o: key not in _labels(o)
    return lambda o: key in _labels(o)


def _labels(obj: Obj) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def label_selector(text: str | None) -> Predicate:
    """The predicate of a `labelSelector`; everything matches an empty one."""
    requirements = [_requirement(part) for part in _split(text or "")]
    return lambda o: all(r(o) for r in requirements)


def field_selector(text: str | None, fields: dict[str, Callable[[Obj], str]] | None = None) -> Predicate:
    """The predicate of a `fieldSelector` on `fields` (default `FIELDS`)."""
    requirements: list[Predicate] = []
    for part in _split(text or ""):
        match = re.match(r"^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
        if match is None:
            raise SelectorError(f"invalid selector: {part.strip()!r}; can't understand it")
        field, op, value = match.groups()
        getter = (FIELDS if fields is None else fields).get(field)
        if getter is None:
            raise SelectorError(f'field label not supported: "{field}"')
        requirements.append(_field(getter, value, equal=op != "!="))
    return lambda o: all(r(o) for r in requirements)


def _field(getter: Callable[[Obj], str], value: str, *, equal: bool) -> Predicate:
    return lambda o: (getter(o) == value) is equal
