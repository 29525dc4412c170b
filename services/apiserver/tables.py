"""Server-side printing: the `meta.k8s.io/v1 Table` kubectl asks for with
`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`, with the columns the `kafkube`
CLI prints (`schemas.printing.COLUMNS`; `-o wide` columns at priority 1). Pure; used by
`services.apiserver.resources`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from schemas.printing import COLUMNS, age, display_name

Obj = dict[str, Any]
TABLE_MEDIA = "as=Table"


def wants_table(accept: str) -> bool:
    """Does the Accept header ask for a v1 Table first (kubectl get)?"""
    first = accept.split(",")[0].replace(" ", "")
    return TABLE_MEDIA in first and "g=meta.k8s.io" in first and ("v=v1;" in first + ";")


def _definition(name: str, *, priority: int = 0, fmt: str = "") -> dict[str, Any]:
    return {"name": name, "type": "string", "format": fmt, "description": "", "priority": priority}


def _row_object(obj: Obj, include: str) -> dict[str, Any] | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata") or {}}


def table(plural: str, objs: list[Obj], *, now: datetime, resource_version: str = "",
          include_object: str = "Metadata", continue_token: str = "") -> dict[str, Any]:
    """The Table of `objs` of one kind: NAME, the kind's columns, AGE, then the wide ones."""
    names, columns, wide_names, wide_columns = COLUMNS.get(plural, ([], lambda o: [], [], None))
    definitions = [_definition("Name", fmt="name"), *(_definition(n) for n in names), _definition("Age")]
    if wide_columns is not None:
        definitions += [_definition(n, priority=1) for n in wide_names]
    rows = []
    for obj in objs:
        meta = obj.get("metadata") or {}
        cells = [display_name(plural, obj), *columns(obj), age(meta.get("creationTimestamp"), now)]
        if wide_columns is not None:
            cells += wide_columns(obj)
        row: dict[str, Any] = {"cells": cells}
        if (shown := _row_object(obj, include_object)) is not None:
            row["object"] = shown
        rows.append(row)
    metadata = {"resourceVersion": resource_version, **({"continue": continue_token} if continue_token else {})}
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata,
            "columnDefinitions": definitions, "rows": rows}
