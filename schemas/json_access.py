"""Reading untyped JSON (an object as stored, a manifest as sent) without trusting its
shape: each accessor gives the empty value of its type where the JSON has something
else. Used by the pure checks that work on stored JSON (`podsecurity*`, `checks_paths`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Json = Mapping[str, Any]


def obj(value: object) -> Json:
    """A JSON object, or {} for nil and anything else."""
    return value if isinstance(value, Mapping) else {}


def items(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def text(value: object) -> str:
    return value if isinstance(value, str) else ""
