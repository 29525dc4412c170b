"""Kubernetes field paths (``spec.containers[0].ports[0].containerPort``) for pydantic locs.

Used by ``schemas.manifest`` to turn a pydantic ``ValidationError`` into ``FieldError``s:
model fields become ``.camelCase``, list indices ``[i]`` and map keys ``[key]``.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel


def _unwrap(annotation: Any) -> Any:
    """Strip Optional/Annotated down to the type that shapes the next path segment."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return None
            annotation = members[0]
        else:
            return annotation


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _model_field(model: type[BaseModel], segment: str) -> tuple[str, Any]:
    for name, info in model.model_fields.items():
        if segment in (info.alias, name):
            return info.alias or name, _unwrap(info.annotation)
    return segment, None


def _step(current: Any, segment: str | int) -> tuple[str, Any]:
    if isinstance(segment, int):
        args = get_args(current) if get_origin(current) is list else ()
        return f"[{segment}]", _unwrap(args[0]) if args else None
    if _is_model(current):
        name, nxt = _model_field(current, segment)
        return f".{name}", nxt
    if get_origin(current) is dict:
        return f"[{segment}]", _unwrap(get_args(current)[1])
    return f".{segment}", None


def field_path(model: type[BaseModel], loc: tuple[str | int, ...]) -> str:
    """Render a pydantic error location against ``model`` as a Kubernetes field path."""
    parts: list[str] = []
    current: Any = model
    for segment in loc:
        text, current = _step(current, segment)
        parts.append(text)
    return "".join(parts).removeprefix(".")
