"""Splitting a manifest payload (YAML or JSON, multi-document, ``List``) into documents.

Used by ``schemas.manifest.split_documents`` and so by the API intake of
``kafkube.manifests`` and the CLI (``apply -f``). Bad input becomes a per-document error
message in Kubernetes' wording; nothing here raises on user input.
"""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
import yaml

from schemas.limits import INT64_MAX, INT64_MIN, MAX_DEPTH, MAX_NODES, MAX_OUTPUT_BYTES
from schemas.secret_fields import REDACTED, holds_values, is_secret

YAML_PREFIX = "error converting YAML to JSON: "
_SEPARATOR = re.compile(r"^(---|\.\.\.)[ \t]*(#.*)?$")
_LoaderBase: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_LoaderBase):  # type: ignore[misc]
    """Safe loader that leaves timestamps as strings, like Kubernetes' YAML-to-JSON."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _LoaderBase.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class DocumentResult:
    """One document of a payload: ``doc`` when it parsed, else ``error``."""

    index: int
    line: int
    doc: dict[str, Any] | None = None
    error: str | None = None
    item: int | None = None

    @property
    def ok(self) -> bool:
        return self.doc is not None


class DocumentError(ValueError):
    """A document that cannot become JSON; its message is the user-facing text."""


def split_chunks(text: str) -> list[tuple[int, str]]:
    """Cut a YAML stream at ``---`` (and ``...``) lines: (first line, text) per document."""
    chunks: list[tuple[int, str]] = []
    start, lines = 1, list[str]()
    for number, line in enumerate(text.split("\n"), start=1):
        if _SEPARATOR.match(line.rstrip("\r")):
            chunks.append((start, "\n".join(lines)))
            start, lines = number + 1, []
        else:
            lines.append(line)
    chunks.append((start, "\n".join(lines)))
    return chunks


def _check_depth(chunk: str) -> None:
    depth = 0
    for event in yaml.parse(chunk, Loader=_Loader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise DocumentError(f"document is nested more than {MAX_DEPTH} levels deep")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def _yaml_message(exc: yaml.YAMLError, first_line: int) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return f"{YAML_PREFIX}yaml: {problem}"
    return f"{YAML_PREFIX}yaml: line {mark.line + first_line}: {problem}"


def load_chunk(chunk: str, first_line: int) -> object:
    """Parse one document (JSON fast path, else YAML); raises DocumentError."""
    stripped = chunk.strip()
    if stripped[:1] in ("{", "["):
        try:
            return orjson.loads(stripped)
        except orjson.JSONDecodeError:
            pass
    try:
        _check_depth(chunk)
        return yaml.load(chunk, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise DocumentError(_yaml_message(exc, first_line)) from None
    except RecursionError:
        raise DocumentError(f"document is nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:  # an integer of more digits than Python converts (4,300)
        raise DocumentError(f"{YAML_PREFIX}yaml: {exc}".split(";")[0]) from None


class Budget:
    """What one manifest record may expand into, aliases counted at every use: shared by
    all its documents, so neither one document nor many can make a small record huge."""

    def __init__(self) -> None:
        self.nodes = 0
        self.chars = 0

    def spend(self, chars: int = 0) -> None:
        self.nodes += 1
        self.chars += chars
        if self.nodes > MAX_NODES:
            raise DocumentError(f"document has more than {MAX_NODES} values")
        if self.chars > MAX_OUTPUT_BYTES:
            raise DocumentError(f"document expands to more than {MAX_OUTPUT_BYTES} characters "
                                "(YAML aliases count at every use)")


class _OutOfRange(DocumentError):
    """An integer wider than 64 bits, reported with the path where it stands (and
    without the number when it stands where a Secret keeps its values)."""

    def __init__(self, value: int, path: tuple[str, ...] = (), *, redacted: bool = False) -> None:
        self.value, self.path, self.redacted = value, path, redacted
        where = "".join(path).lstrip(".")
        if redacted:
            text = f'"{REDACTED}"'
        else:
            text = str(value) if value.bit_length() < 4000 else f"an integer of {value.bit_length()} bits"
        super().__init__(f"{where + ': ' if where else ''}Invalid value: {text}: "
                         "must be a 64-bit integer")

    def at(self, segment: str, *, redacted: bool = False) -> _OutOfRange:
        return _OutOfRange(self.value, (segment, *self.path), redacted=redacted or self.redacted)


def _key(key: object) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, (str, int, float)):
        return str(key)
    raise DocumentError(f"{YAML_PREFIX}json: unsupported type: {type(key).__name__} as map key")


def to_json_like(value: object, budget: Budget | None = None, depth: int = 0) -> Any:
    """Copy a parsed value into plain JSON types (str keys, no NaN, no dates/bytes,
    integers within 64 bits), within the budget."""
    budget = budget or Budget()
    budget.spend(len(value) if isinstance(value, str) else 0)
    if depth > MAX_DEPTH:
        raise DocumentError(f"document is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, dict):
        return _mapping(value, budget, depth)
    if isinstance(value, (list, tuple)):
        return _sequence(value, budget, depth)
    if isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
        raise _OutOfRange(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise DocumentError(f"{YAML_PREFIX}json: unsupported value: {value}")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise DocumentError(f"{YAML_PREFIX}json: unsupported type: {type(value).__name__}")


def _mapping(value: dict[Any, Any], budget: Budget, depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    secret = depth == 0 and is_secret(value.get("kind"))
    for k, v in value.items():
        key = _key(k)
        budget.spend(len(key))
        try:
            out[key] = to_json_like(v, budget, depth + 1)
        except _OutOfRange as exc:
            raise exc.at(f".{key}", redacted=secret and holds_values((key,))) from None
    return out


def _sequence(value: list[Any] | tuple[Any, ...], budget: Budget, depth: int) -> list[Any]:
    out: list[Any] = []
    for index, v in enumerate(value):
        try:
            out.append(to_json_like(v, budget, depth + 1))
        except _OutOfRange as exc:
            raise exc.at(f"[{index}]") from None
    return out


_JSON_TYPES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean",
               type(None): "null"}


def _is_list(doc: dict[str, Any]) -> bool:
    kind = doc.get("kind")
    return isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list)


def expand(doc: object, index: int, line: int, item: int | None = None) -> list[DocumentResult]:
    """A document as results: a mapping, a ``List``'s items, or an error."""
    if doc is None and item is None:
        return []
    if not isinstance(doc, dict):
        found = _JSON_TYPES.get(type(doc), type(doc).__name__)
        message = f"error unmarshaling JSON: a document must be an object, not {found}"
        return [DocumentResult(index, line, error=message, item=item)]
    if not _is_list(doc):
        return [DocumentResult(index, line, doc=doc, item=item)]
    results: list[DocumentResult] = []
    for position, entry in enumerate(doc["items"]):
        results += expand(entry, index, line, position if item is None else item)
    return results
