"""Server-side apply and `metadata.managedFields`, as kube-apiserver's field manager keeps
them: every write names a manager (`fieldManager`); an UPDATE (create, update, any patch
but apply) gives its manager the fields it changed and takes them from the others; an
APPLY merges the manager's configuration into the object (lists by their merge keys),
removes the fields that manager applied before and no manager owns any longer, and is
refused with the conflicting managers' fields (`ApplyConflict`, 409) when it would change
a field another manager owns, unless forced (then it takes them). An object that has no
managedFields yet is not tracked by updates; its first apply hands what it holds to
`before-first-apply`; beyond ten updaters, the oldest become `ancient-changes`. Pure
(the field-set algebra is `services.apiserver.fieldsets`); used by
`services.apiserver.writes`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

import orjson

from schemas.secret_fields import LAST_APPLIED
from services.apiserver.fieldsets import FieldSet, Path, changes, fields_of, from_fields_v1, path_text, \
    to_fields_v1, without
from services.apiserver.smp import strategic_merge

Obj = dict[str, Any]
Operation = Literal["Apply", "Update"]
BEFORE_FIRST_APPLY = "before-first-apply"
ANCIENT_CHANGES = "ancient-changes"
KUBECTL = "kubectl"  # the manager whose applies upgrade from, and keep, client-side apply's annotation
MAX_UPDATE_MANAGERS = 10


@dataclass(frozen=True, slots=True)
class Manager:
    """One entry of `metadata.managedFields`."""

    manager: str
    operation: Operation
    api_version: str
    time: str
    fields: FieldSet
    subresource: str = ""  # e.g. `scale`: an update through the subresource

    @property
    def identity(self) -> tuple[str, ...]:
        """(manager, operation), and the subresource a manager wrote through, if any."""
        return (self.manager, self.operation, self.subresource) if self.subresource else (self.manager, self.operation)

    def described(self) -> str:
        """Upstream's printManager: `"kubectl"`, or `"kubectl-edit" using apps/v1` for an updater."""
        return f'"{self.manager}"' + (f" using {self.api_version}" if self.operation == "Update" else "")

    def entry(self) -> Obj:
        return {"manager": self.manager, "operation": self.operation, "apiVersion": self.api_version,
                "time": self.time, "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(self.fields),
                **({"subresource": self.subresource} if self.subresource else {})}


Managers = dict[tuple[str, ...], Manager]


class ApplyConflict(Exception):
    """An apply that would change fields other managers own: upstream's 409 and its causes."""

    def __init__(self, conflicts: list[tuple[Manager, Path]]) -> None:
        self.conflicts = conflicts
        super().__init__(self.message)

    @property
    def message(self) -> str:
        if len(self.conflicts) == 1:
            owner, path = self.conflicts[0]
            return f"Apply failed with 1 conflict: conflict with {owner.described()}: {path_text(path)}"
        lines: list[str] = []
        for described in sorted({m.described() for m, _ in self.conflicts}):
            lines.append(f"conflicts with {described}:")
            lines += [f"- {path_text(p)}" for m, p in self.conflicts if m.described() == described]
        return f"Apply failed with {len(self.conflicts)} conflicts: " + "\n".join(lines)

    @property
    def causes(self) -> list[Obj]:
        return [{"type": "FieldManagerConflict", "message": f"conflict with {m.described()}",
                 "field": path_text(p)} for m, p in self.conflicts]


def managers_of(obj: Obj | None) -> Managers:
    """The managers an object's metadata names."""
    found: Managers = {}
    for entry in ((obj or {}).get("metadata") or {}).get("managedFields") or []:
        if isinstance(entry, dict) and entry.get("manager") and entry.get("operation") in ("Apply", "Update"):
            manager = Manager(entry["manager"], entry["operation"], str(entry.get("apiVersion") or ""),
                              str(entry.get("time") or ""), from_fields_v1(entry.get("fieldsV1") or {}),
                              str(entry.get("subresource") or ""))
            found[manager.identity] = manager
    return found


def _capped(managers: Managers) -> Managers:
    """At most ten `Update` managers, as upstream: the oldest merged into `ancient-changes`."""
    updaters = sorted((m for m in managers.values() if m.operation == "Update"), key=lambda m: (m.time, m.manager))
    excess = len(updaters) - MAX_UPDATE_MANAGERS
    if excess <= 0:
        return managers
    merged = updaters[:excess + 1]
    bucket = Manager(ANCIENT_CHANGES, "Update", merged[-1].api_version, merged[-1].time,
                     frozenset().union(*(m.fields for m in merged)))
    gone = {m.identity for m in merged}
    return {**{key: m for key, m in managers.items() if key not in gone}, bucket.identity: bucket}


def with_managers(obj: Obj, managers: Managers) -> Obj:
    """The object with its managedFields (capped), sorted as upstream (Apply first, then by time and name)."""
    order = sorted(_capped(managers).values(), key=lambda m: (m.operation, m.time, m.manager, m.subresource))
    entries = [m.entry() for m in order]
    return {**obj, "metadata": {**(obj.get("metadata") or {}), "managedFields": entries}}


def _settled(live: Obj | None, new: Obj, managers: Managers, writer: tuple[str, ...], *, force: bool) -> Managers:
    """The other managers after `writer` turned `live` into `new`: they lose what it changed
    (a conflict unless forced) and what it removed; a manager left with nothing goes."""
    added, modified, removed = changes(live, new)
    touched = added | modified
    others = [m for key, m in managers.items() if key != writer]
    conflicts = [(m, p) for m in others for p in sorted(m.fields & touched)]
    if conflicts and not force:
        raise ApplyConflict(conflicts)
    settled = {key: replace(m, fields=m.fields - touched - removed) for key, m in managers.items() if key != writer}
    if writer in managers:
        settled[writer] = managers[writer]
    return {key: m for key, m in settled.items() if m.fields}


def updated(live: Obj | None, new: Obj, *, manager: str, api_version: str, now: str, subresource: str = "") -> Obj:
    """`new` (a create when `live` is None, else an update of it, through `subresource` if
    named) with its managedFields: those it carries if any, else the live object's;
    `manager` gets what it changed."""
    managers = managers_of(new) or managers_of(live)
    if live is not None and not managers:
        return new  # untracked until its first apply, as upstream
    writer = Manager(manager, "Update", api_version, now, frozenset(), subresource).identity
    added, modified, removed = changes(live, new)
    if not (added | modified | removed):
        return with_managers(new, managers)
    settled = _settled(live, new, managers, writer, force=True)
    mine = settled.get(writer)
    fields = ((mine.fields if mine else frozenset()) - removed) | added | modified
    settled[writer] = Manager(manager, "Update", api_version, now, fields, subresource)
    return with_managers(new, {key: m for key, m in settled.items() if m.fields})


def applied(live: Obj | None, config: Obj, *, manager: str, api_version: str, now: str, force: bool) -> Obj:
    """The object after `manager` applies `config` to `live` (None: it is created), with
    its managedFields; ApplyConflict when another manager owns a field it would change.
    As upstream, kubectl's own apply (manager `kubectl`) of an object client-side applied
    before takes the fields that still hold their last-applied values without a conflict,
    and keeps the last-applied annotation in step with what it applies."""
    config = {k: v for k, v in config.items() if k != "status"}
    config["metadata"] = {k: v for k, v in (config.get("metadata") or {}).items() if k != "managedFields"}
    try:
        result = _applied(live, config, manager, api_version, now, force=force)
    except ApplyConflict as exc:
        if manager != KUBECTL:
            raise
        allowed = _last_applied_fields(live)
        if remaining := [(m, p) for m, p in exc.conflicts if p not in allowed]:
            raise ApplyConflict(remaining) from None
        result = _applied(live, config, manager, api_version, now, force=True)
    return _with_last_applied(result, config) if manager == KUBECTL else result


def _last_applied_fields(live: Obj | None) -> FieldSet:
    """The fields client-side apply last applied that the object still holds with those values."""
    text = ((live or {}).get("metadata") or {}).get("annotations", {}).get(LAST_APPLIED)
    try:
        last = orjson.loads(text or "null")
    except orjson.JSONDecodeError:
        return frozenset()
    if not isinstance(last, dict) or live is None or last.get("apiVersion") != live.get("apiVersion"):
        return frozenset()
    added, modified, removed = changes(last, live)
    return fields_of(last) - added - modified - removed


def _with_last_applied(obj: Obj, config: Obj) -> Obj:
    """`obj` with its last-applied annotation, if it has one, set to `config` (as kubectl writes it)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if LAST_APPLIED not in annotations:
        return obj
    meta = config.get("metadata") or {}
    kept = {k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}
    config = {**config, "metadata": {**{k: v for k, v in meta.items() if k != "annotations"},
                                     **({"annotations": kept} if kept else {})}}
    value = orjson.dumps(config, option=orjson.OPT_SORT_KEYS).decode() + "\n"
    return {**obj, "metadata": {**obj["metadata"], "annotations": {**annotations, LAST_APPLIED: value}}}


def _applied(live: Obj | None, config: Obj, manager: str, api_version: str, now: str, *, force: bool) -> Obj:
    managers = managers_of(live)
    if live is not None and not managers and (held := fields_of(live)):
        managers = {(BEFORE_FIRST_APPLY, "Update"): Manager(BEFORE_FIRST_APPLY, "Update", api_version, now, held)}
    writer = (manager, "Apply")
    previous = managers[writer].fields if writer in managers else frozenset()
    managers = {**managers, writer: Manager(manager, "Apply", api_version, now, fields_of(config))}
    owned = frozenset().union(*(m.fields for m in managers.values()))
    merged = strategic_merge(live or {}, config)
    pruned = without(merged, previous - owned)
    settled = _settled(live, pruned, managers, writer, force=force)
    settled[writer] = managers[writer]
    return with_managers(pruned, settled)
