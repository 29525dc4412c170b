"""Server-side field validation of POST, PUT and PATCH bodies (`?fieldValidation=`), as
kube-apiserver's strict decoding does it: a field the published OpenAPI schema does not
know (`services.apiserver.openapi`; its open parts keep any field) or a field given twice
in one JSON object is

- `Strict`: refused, 400 BadRequest `<Kind> in version "v1" cannot be handled as a <Kind>:
  strict decoding error: unknown field "spec.foo"` (a patch: 422 Invalid, upstream's wording);
- `Warn` (the default): accepted, with a `Warning: 299 - "unknown field \\"spec.foo\\""`
  header per problem (kubectl prints them);
- `Ignore`: accepted silently.

A patch is checked as it is sent: strategic merge directives (`$patch`, `$setElementOrder/…`)
and removals (`null`) are not fields; an apply patch (`application/apply-patch+yaml` in JSON,
as kubectl sends it) is checked as an object; JSON patches (RFC 6902) are not checked.
The checks are pure; `validated` wraps a write handler (`services.apiserver.resources`)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from services.apiserver import openapi
from services.apiserver.http import PROTOBUF, error
from services.apiserver.paths import ResourcePath
from services.apiserver.writes import APPLY_PATCH, JSON_PATCH

Schema = dict[str, Any]
IGNORE, WARN, STRICT = "Ignore", "Warn", "Strict"
CHECKED_METHODS = frozenset({"POST", "PUT", "PATCH"})


class InvalidDirective(ValueError):
    """A `fieldValidation` value other than Ignore, Warn or Strict."""


def directive(query: Mapping[str, str]) -> str:
    """The request's `fieldValidation`: Warn when absent, as upstream."""
    wanted = query.get("fieldValidation") or WARN
    if wanted not in (IGNORE, WARN, STRICT):
        raise InvalidDirective(f"fieldValidation must be one of {IGNORE}, {WARN} or {STRICT}, not {wanted!r}")
    return wanted


class _Object(dict[str, Any]):
    """A decoded JSON object that remembers the keys it was given more than once."""

    duplicates: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    decoded = _Object(pairs)
    if len(decoded) < len(pairs):
        decoded.duplicates = tuple(key for key, count in Counter(k for k, _ in pairs).items() if count > 1)
    return decoded


def decoded(raw: bytes) -> Any:
    """JSON with its duplicate keys noted (the last value wins, as in Go); None if not JSON."""
    try:
        return json.loads(raw, object_pairs_hook=_object)
    except ValueError:
        return None


def _resolved(schema: Schema, components: Mapping[str, Schema]) -> Schema:
    while True:
        if "$ref" in schema:
            schema = components.get(schema["$ref"].removeprefix(openapi.V3_REF), openapi.OPEN)
        elif len(schema.get("allOf") or ()) == 1 and "properties" not in schema:
            schema = schema["allOf"][0]
        else:
            return schema


def _joined(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _quoted(path: str) -> str:
    """Go's `%q` of a field path, as upstream names it."""
    return json.dumps(path, ensure_ascii=False)


def problems(body: Any, schema: Schema, components: Mapping[str, Schema], *, patch: bool = False,
             path: str = "") -> list[str]:
    """`unknown field "<path>"` / `duplicate field "<path>"` for each problem of `body`
    against `schema`, in the order met."""
    schema = _resolved(schema, components)
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    found: list[str] = []
    if isinstance(body, dict):
        found += [f"duplicate field {_quoted(_joined(path, key))}" for key in getattr(body, "duplicates", ())]
        properties, values = schema.get("properties"), schema.get("additionalProperties")
        for key, value in body.items():
            if patch and (key.startswith("$") or value is None):
                continue
            if properties is not None and key in properties:
                found += problems(value, properties[key], components, patch=patch, path=_joined(path, key))
            elif isinstance(values, dict):
                found += problems(value, values, components, patch=patch, path=f"{path}[{key}]")
            elif properties is not None:
                found.append(f"unknown field {_quoted(_joined(path, key))}")
    elif isinstance(body, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(body):
            found += problems(item, schema["items"], components, patch=patch, path=f"{path}[{index}]")
    return found


def go_value(value: Any) -> str:
    """`value` as Go's `%+v` prints a decoded JSON value (`map[spec:map[foo:1]]`), as
    upstream quotes a refused patch."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_value(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_value(v) for v in value) + "]"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def strict_message(found: list[str]) -> str:
    return "strict decoding error: " + ", ".join(found)


def warning_header(problem: str) -> str:
    """RFC 7234 warning as kube-apiserver sends it: code 299, agent `-`, quoted text."""
    return '299 - "' + problem.replace("\\", "\\\\").replace('"', '\\"') + '"'


def refusal(path: ResourcePath, found: list[str], body: Any, *, patch: bool) -> web.Response:
    """The Strict refusal: a patch is Invalid, a whole object a BadRequest (upstream's split)."""
    if patch:
        return error("Invalid", f' "" is invalid: patch: Invalid value: {json.dumps(go_value(body))}: '
                     f"{strict_message(found)}")
    kind = path.info.kind
    return error("BadRequest", f'{kind} in version "{path.info.version}" cannot be handled as a {kind}: '
                 f"{strict_message(found)}")


async def validated(request: web.Request, path: ResourcePath,
                    handle: Callable[[], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """Run the write `handle` unless Strict validation refuses its body; add Warn's warnings."""
    if request.method not in CHECKED_METHODS:
        return await handle()
    try:
        wanted = directive(request.query)
    except InvalidDirective as exc:
        return error("BadRequest", str(exc))
    found: list[str] = []
    body: Any = None
    patch = request.method == "PATCH" and request.content_type != APPLY_PATCH  # an apply patch is an object
    if wanted != IGNORE and request.content_type not in (JSON_PATCH, PROTOBUF):
        body = decoded(await request.read())
        schema = {"$ref": openapi.V3_REF + openapi.component_name(path.info.model)}
        found = problems(body, schema, openapi.all_components(), patch=patch)
    if found and wanted == STRICT:
        return refusal(path, found, body, patch=patch)
    response = await handle()
    for problem in found:
        response.headers.add("Warning", warning_header(problem))
    return response
