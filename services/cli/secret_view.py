"""What the CLI shows of a Secret: its keys and their sizes, never its values.

`kafkube describe secret` prints kubectl's layout (`describe_secret`, sizes from
`services.runtime.secret_values.plaintext_size`); `kafkube history`
names the Secret's keys that were added, changed or removed (`is_value_path`, used by
`services.cli.history.changes`) and prints an old revision through `redacted`. Only
`kafkube get secret -o yaml|json` prints values, as kubectl does. Pure.
"""

from __future__ import annotations

from typing import Any

from schemas.secret_fields import LAST_APPLIED, is_secret
from services.runtime.secret_values import is_encrypted, plaintext_size

MAX_ANNOTATION_LEN = 140  # kubectl's describe folds longer annotations
_VALUE_PREFIXES = ("data.", "stringData.")
_LAST_APPLIED_PATH = f"metadata.annotations.{LAST_APPLIED}"


def size_text(value: object) -> str:
    """`12 bytes` (the value's size in clear, also for most values encrypted at rest),
    `<encrypted>` when the provider pads (aescbc), `<unknown>` when it does not decode."""
    size = plaintext_size(value) if isinstance(value, str) else None
    if size is not None:
        return f"{size} bytes"
    return "<encrypted>" if isinstance(value, str) and is_encrypted(value) else "<unknown>"


def is_value_path(path: str) -> bool:
    """Does a dotted path of a Secret (`data.password`) lead to a value, or to the
    last-applied annotation that copies them?"""
    return path.startswith(_VALUE_PREFIXES) or path == _LAST_APPLIED_PATH or \
        path.startswith((_LAST_APPLIED_PATH + ".", _LAST_APPLIED_PATH + "["))


def redacted(obj: dict[str, Any]) -> dict[str, Any]:
    """A Secret with each value replaced by its size (`<redacted: 12 bytes>`) and the
    last-applied annotation by `<redacted>`; any other object as it is."""
    if not is_secret(obj.get("kind")):
        return obj
    out = dict(obj)
    if isinstance(obj.get("data"), dict):
        out["data"] = {k: f"<redacted: {size_text(v)}>" for k, v in obj["data"].items()}
    if isinstance(obj.get("stringData"), dict):
        out["stringData"] = {k: f"<redacted: {len(str(v).encode())} bytes>" for k, v in obj["stringData"].items()}
    meta = obj.get("metadata") or {}
    if LAST_APPLIED in (meta.get("annotations") or {}):
        out["metadata"] = {**meta, "annotations": {**meta["annotations"], LAST_APPLIED: "<redacted>"}}
    return out


def describe_secret(obj: dict[str, Any]) -> str:
    """kubectl's `describe secret`: name, namespace, labels, annotations (not the
    last-applied one), type, then each key of `data` with its size."""
    meta = obj.get("metadata") or {}
    lines = [f"Name:         {meta.get('name', '')}", f"Namespace:    {meta.get('namespace', '')}"]
    lines += _block("Labels:", [f"{k}={v}" for k, v in sorted((meta.get("labels") or {}).items())])
    lines += _block("Annotations:", annotation_lines(meta.get("annotations")))
    lines += ["", f"Type:  {obj.get('type', '')}", "", "Data", "===="]
    data = obj.get("data") or {}
    width = max((len(k) for k in data), default=0) + 3
    lines += [f"{k + ':':<{width}}{size_text(data[k])}" for k in sorted(data)]
    return "\n".join(lines) + "\n"


def annotation_lines(annotations: dict[str, str] | None) -> list[str]:
    """kubectl's annotation lines: `key: value`, a long or multi-line value folded under
    its key; the last-applied configuration left out (kubectl skips it everywhere)."""
    lines: list[str] = []
    for key, value in sorted((annotations or {}).items()):
        if key == LAST_APPLIED:
            continue
        value = str(value).removesuffix("\n")
        if len(value) + len(key) + 2 > MAX_ANNOTATION_LEN or "\n" in value:
            lines.append(f"{key}:")
            lines += [f"  {_shorten(part, MAX_ANNOTATION_LEN - 2)}" for part in value.split("\n")]
        else:
            lines.append(f"{key}: {value}")
    return lines


def _block(title: str, cells: list[str]) -> list[str]:
    first, *rest = cells or ["<none>"]
    return [f"{title:<14}{first}"] + [" " * 14 + cell for cell in rest]


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
