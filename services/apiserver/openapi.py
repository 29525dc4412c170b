"""The OpenAPI documents `kubectl explain`, kubectl's field validation and client-side
`apply` read: `/openapi/v3` (an index of group-versions with their hashes),
`/openapi/v3/api/v1` and `/openapi/v3/apis/<group>/<version>` (OpenAPI 3.0), and
`/openapi/v2` (Swagger 2.0, derived from the v3 documents), generated from the pydantic
models of `schemas.registry`. Pure, built once per process; served by
`services.apiserver.openapi_http`.

A model becomes a component schema with its docstring and its fields' descriptions;
each kind carries `x-kubernetes-group-version-kind`. Fields Kafkube keeps without
modelling them (`schemas.unmodelled`) have their Kubernetes type and open content
(`x-kubernetes-preserve-unknown-fields`), as open maps (`dict[str, Any]`) do; everything
else is closed, which is what strict field validation (`services.apiserver.fieldvalidation`) checks bodies against. PATCH
operations list JSON and merge patches only, not strategic merge patches: kubectl then
computes its strategic patches from its built-in types (the true merge keys) rather
than from these schemas, which carry no `x-kubernetes-patch-merge-key`."""

from __future__ import annotations

import hashlib
import inspect
import types
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import orjson
from annotated_types import Le
from pydantic.fields import FieldInfo

from schemas.meta import INT32_MAX, KubeModel
from schemas.registry import ALL_KINDS, CONVERTED_KINDS, KindInfo
from schemas.unmodelled import UNMODELLED
from services.apiserver.discovery import KUBERNETES_VERSION, WITH_STATUS
from services.apiserver.writes import JSON_PATCH, MERGE_PATCH

Schema = dict[str, Any]
V3_REF = "#/components/schemas/"
V2_REF = "#/definitions/"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
PATCH = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
OPEN: Schema = {"x-kubernetes-preserve-unknown-fields": True}
UNMODELLED_NOTE = "Kept as given; Kafkube does not model this field."
SHARED_COMPONENTS: dict[str, Schema] = {
    INT_OR_STRING: {"type": "string", "format": "int-or-string",
                    "description": "An integer or a string (a port number or name, a percentage)."},
    PATCH: {"type": "object", "description": "A JSON patch (RFC 6902) or a JSON merge patch (RFC 7386)."},
}
PATCH_BODIES = (JSON_PATCH, MERGE_PATCH)
"""The patch types advertised (see the module's docstring for why not strategic merge)."""

FIELD_VALIDATION = ("fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) "
                    "containing unknown or duplicate fields. Valid values are: - Ignore: unknown and duplicate "
                    "fields are kept silently. - Warn (the default): a warning is sent for each unknown or "
                    "duplicate field. - Strict: the request fails with a BadRequest error if it contains any "
                    "unknown or duplicate field.")
WRITE_PARAMETERS = {
    "dryRun": ("string", "When present, indicates that modifications should not be persisted. Valid value: All."),
    "fieldManager": ("string", "A name associated with the actor or entity that is making these changes."),
    "fieldValidation": ("string", FIELD_VALIDATION),
}
LIST_PARAMETERS = {
    "labelSelector": ("string", "A selector to restrict the list of returned objects by their labels."),
    "fieldSelector": ("string", "A selector to restrict the list of returned objects by their fields."),
    "limit": ("integer", "The maximum number of responses to return for a list call."),
    "continue": ("string", "The continue token of a previous page of this list."),
    "resourceVersion": ("string", "Where a watch starts (the resourceVersion of a list)."),
    "watch": ("boolean", "Watch for changes to the described resources and return them as a stream."),
    "allowWatchBookmarks": ("boolean", "Requests watch events with type BOOKMARK."),
    "sendInitialEvents": ("boolean", "Start the watch with an ADDED event for every object."),
    "timeoutSeconds": ("integer", "Timeout for the list/watch call."),
}
DELETE_PARAMETERS = {
    "gracePeriodSeconds": ("integer", "The duration in seconds before the object should be deleted."),
    "propagationPolicy": ("string", "Whether and how garbage collection will be performed: Orphan, "
                                    "Background or Foreground."),
    "dryRun": WRITE_PARAMETERS["dryRun"],
}


def component_name(model: type[KubeModel]) -> str:
    """`io.kafkube.schemas.pod.Container`: unique, and its last part is what `kubectl explain` shows."""
    return f"io.kafkube.{model.__module__}.{model.__name__}"


def list_component_name(info: KindInfo) -> str:
    return f"{component_name(info.model)}List"


def _gvk(info: KindInfo, kind: str | None = None) -> dict[str, str]:
    return {"group": info.group, "kind": kind or info.kind, "version": info.version}


def _described(schema: Schema, description: str | None) -> Schema:
    if not description:
        return schema
    if "$ref" in schema:
        return {"allOf": [schema], "description": description}
    return {**schema, "description": description}


def _unmodelled(json_type: str) -> Schema:
    """A field kept as given (`schemas.unmodelled`): its Kubernetes type, any content."""
    if json_type.startswith("[]"):
        return {"type": "array", "items": _unmodelled(json_type.removeprefix("[]"))}
    return {"type": "object", **OPEN} if json_type == "object" else {"type": json_type}


def _is_int32(metadata: list[Any]) -> bool:
    """`Int32` (`schemas.meta`): an upper bound of INT32_MAX, possibly inside a `Field`."""
    flat = [inner for m in metadata for inner in (m.metadata if isinstance(m, FieldInfo) else [m])]
    return any(isinstance(m, Le) and m.le == INT32_MAX for m in flat)


class _Components:
    """Component schemas of the models reachable from some kinds, built as they are met."""

    def __init__(self) -> None:
        self.schemas: dict[str, Schema] = {}

    def model(self, model: type[KubeModel]) -> Schema:
        name = component_name(model)
        if name not in self.schemas:
            self.schemas[name] = {}  # placeholder: recursive models refer to themselves
            self.schemas[name] = self._object(model)
        return {"$ref": V3_REF + name}

    def _object(self, model: type[KubeModel]) -> Schema:
        properties: dict[str, Schema] = {}
        required = []
        for name, info in model.model_fields.items():
            alias = info.alias or name
            properties[alias] = self.field(info)
            if info.is_required():
                required.append(alias)
        for alias, json_type in UNMODELLED.get(model, {}).items():
            properties[alias] = {**_unmodelled(json_type), "description": UNMODELLED_NOTE}
        schema: Schema = {"type": "object", "properties": properties}
        if doc := model.__dict__.get("__doc__"):
            schema["description"] = inspect.cleandoc(doc)
        if required:
            schema["required"] = required
        return schema

    def field(self, info: FieldInfo) -> Schema:
        return _described(self.annotation(info.annotation, list(info.metadata)), info.description)

    def annotation(self, annotation: Any, metadata: list[Any]) -> Schema:
        origin, args = get_origin(annotation), get_args(annotation)
        if origin is Annotated:
            return self.annotation(args[0], [*metadata, *annotation.__metadata__])
        if origin in (Union, types.UnionType):
            members = [a for a in args if a is not type(None)]
            if sorted(members, key=str) == [int, str]:
                return {"$ref": V3_REF + INT_OR_STRING}
            return self.annotation(members[0], metadata) if len(members) == 1 else dict(OPEN)
        if origin is Literal:
            return {"type": _scalar(type(args[0])) or "string", "enum": list(args)}
        if origin is list:
            return {"type": "array", "items": self.annotation(args[0], [])}
        if origin is dict:
            values = self.annotation(args[1], [])
            return {"type": "object", **OPEN} if values == OPEN else {"type": "object", "additionalProperties": values}
        if isinstance(annotation, type) and issubclass(annotation, KubeModel):
            return self.model(annotation)
        if annotation is int:
            return {"type": "integer", "format": "int32" if _is_int32(metadata) else "int64"}
        if annotation is datetime:
            return {"type": "string", "format": "date-time"}
        scalar = _scalar(annotation)
        return {"type": scalar} if scalar else dict(OPEN)


def _scalar(tp: Any) -> str | None:
    return {str: "string", bool: "boolean", int: "integer", float: "number"}.get(tp)


def _kind_components(kinds: tuple[KindInfo, ...]) -> dict[str, Schema]:
    components = _Components()
    for info in kinds:
        components.model(info.model)
        kind_schema = components.schemas[component_name(info.model)]
        kind_schema["x-kubernetes-group-version-kind"] = [_gvk(info)]
        components.schemas[list_component_name(info)] = _list_schema(info)
    return {**SHARED_COMPONENTS, **dict(sorted(components.schemas.items()))}


def _list_schema(info: KindInfo) -> Schema:
    list_meta = {"type": "object", "description": "The list's resourceVersion and continue token.",
                 "properties": {"resourceVersion": {"type": "string"}, "continue": {"type": "string"},
                                "remainingItemCount": {"type": "integer", "format": "int64"}}}
    return {"type": "object", "description": f"A list of {info.kind} objects.", "required": ["items"],
            "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": list_meta,
                           "items": {"type": "array", "items": {"$ref": V3_REF + component_name(info.model)}}},
            "x-kubernetes-group-version-kind": [_gvk(info, f"{info.kind}List")]}


# -- paths --------------------------------------------------------------------------------

def _parameter(name: str, kind: str, description: str, where: str = "query") -> Schema:
    parameter: Schema = {"name": name, "in": where, "description": description, "schema": {"type": kind}}
    if where == "path":
        parameter["required"] = True
    else:
        parameter["uniqueItems"] = True
    return parameter


def _parameters(table: dict[str, tuple[str, str]]) -> list[Schema]:
    return [_parameter(name, kind, description) for name, (kind, description) in table.items()]


def _json(schema: Schema) -> Schema:
    return {"application/json": {"schema": schema}}


def _operation(info: KindInfo, action: str, operation_id: str, description: str, returns: Schema, *,
               parameters: list[Schema] | None = None, body: Schema | None = None) -> Schema:
    group = (info.group.split(".")[0] or "core") + "_" + info.version
    operation: Schema = {"tags": [group], "description": description, "operationId": operation_id,
                         "parameters": parameters or [],
                         "responses": {"200": {"description": "OK", "content": _json(returns)}},
                         "x-kubernetes-action": action, "x-kubernetes-group-version-kind": _gvk(info)}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": body}
    return operation


def _kind_paths(info: KindInfo) -> dict[str, Schema]:
    base = f"/apis/{info.group}/{info.version}" if info.group else f"/api/{info.version}"
    scope = "Namespaced" if info.namespaced else ""
    collection = f"{base}/namespaces/{{namespace}}/{info.plural}" if info.namespaced else f"{base}/{info.plural}"
    item = f"{collection}/{{name}}"
    ref = {"$ref": V3_REF + component_name(info.model)}
    listed = {"$ref": V3_REF + list_component_name(info)}
    namespace = [_parameter("namespace", "string", "object name and auth scope", "path")] if info.namespaced else []
    name = [_parameter("name", "string", f"name of the {info.kind}", "path")]
    writes = _parameters(WRITE_PARAMETERS)
    paths: dict[str, Schema] = {
        collection: {
            "get": _operation(info, "list", f"list{scope}{info.kind}", f"list or watch objects of kind {info.kind}",
                              listed, parameters=_parameters(LIST_PARAMETERS)),
            "post": _operation(info, "post", f"create{scope}{info.kind}", f"create a {info.kind}", ref,
                               parameters=writes, body=_json(ref)),
            "delete": _operation(info, "deletecollection", f"deleteCollection{scope}{info.kind}",
                                 f"delete collection of {info.kind}", {"type": "object"},
                                 parameters=_parameters(LIST_PARAMETERS) + _parameters(DELETE_PARAMETERS)),
            "parameters": namespace,
        },
        item: {
            "get": _operation(info, "get", f"read{scope}{info.kind}", f"read the specified {info.kind}", ref),
            "put": _operation(info, "put", f"replace{scope}{info.kind}", f"replace the specified {info.kind}", ref,
                              parameters=writes, body=_json(ref)),
            "patch": _operation(info, "patch", f"patch{scope}{info.kind}", f"partially update the specified "
                                f"{info.kind}", ref, parameters=writes,
                                body={media: {"schema": {"$ref": V3_REF + PATCH}} for media in PATCH_BODIES}),
            "delete": _operation(info, "delete", f"delete{scope}{info.kind}", f"delete a {info.kind}", ref,
                                 parameters=_parameters(DELETE_PARAMETERS)),
            "parameters": [*name, *namespace],
        },
    }
    if info.namespaced:
        paths[f"{base}/{info.plural}"] = {"get": _operation(
            info, "list", f"list{info.kind}ForAllNamespaces", f"list or watch objects of kind {info.kind}", listed,
            parameters=_parameters(LIST_PARAMETERS))}
    if info.plural in WITH_STATUS:
        paths[f"{item}/status"] = {"get": _operation(info, "get", f"read{scope}{info.kind}Status",
                                                     f"read status of the specified {info.kind}", ref),
                                   "parameters": [*name, *namespace]}
    return paths


# -- documents ----------------------------------------------------------------------------

def group_version_path(info: KindInfo) -> str:
    """`api/v1`, `apis/apps/v1`: a v3 document's name in the index."""
    return f"apis/{info.group}/{info.version}" if info.group else f"api/{info.version}"


def _by_group_version() -> dict[str, tuple[KindInfo, ...]]:
    grouped: dict[str, list[KindInfo]] = defaultdict(list)
    for info in (*ALL_KINDS, *CONVERTED_KINDS):
        grouped[group_version_path(info)].append(info)
    return {path: tuple(kinds) for path, kinds in sorted(grouped.items())}


def _info_block() -> Schema:
    major, minor = KUBERNETES_VERSION
    return {"title": "Kubernetes (Kafkube)", "version": f"v{major}.{minor}.0-kafkube"}


def v3_document(kinds: tuple[KindInfo, ...]) -> Schema:
    """The OpenAPI 3.0 document of one group-version's kinds."""
    paths: dict[str, Schema] = {}
    for info in kinds:
        paths.update(_kind_paths(info))
    return {"openapi": "3.0.0", "info": _info_block(), "paths": dict(sorted(paths.items())),
            "components": {"schemas": _kind_components(kinds)}}


def _v2(value: Any) -> Any:
    """A v3 schema with its references into `#/definitions/`."""
    if isinstance(value, dict):
        return {k: (V2_REF + v.removeprefix(V3_REF) if k == "$ref" else _v2(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_v2(v) for v in value]
    return value


def _v2_parameter(parameter: Schema) -> Schema:
    flat = {k: v for k, v in parameter.items() if k != "schema"}
    return {**flat, "type": parameter["schema"]["type"]}


def _v2_operation(operation: Schema) -> Schema:
    converted = {k: v for k, v in operation.items() if k not in ("parameters", "requestBody", "responses")}
    parameters = [_v2_parameter(p) for p in operation.get("parameters", [])]
    if body := operation.get("requestBody"):
        converted["consumes"] = list(body["content"])
        schema = next(iter(body["content"].values()))["schema"]
        parameters.append({"name": "body", "in": "body", "required": True, "schema": _v2(schema)})
    converted["parameters"] = parameters
    converted["produces"] = ["application/json"]
    converted["responses"] = {code: {"description": r["description"],
                                     "schema": _v2(r["content"]["application/json"]["schema"])}
                              for code, r in operation["responses"].items()}
    return converted


def v2_document(documents: list[Schema]) -> Schema:
    """The Swagger 2.0 document of every group-version, from their v3 documents."""
    paths: dict[str, Schema] = {}
    definitions: dict[str, Schema] = {}
    for document in documents:
        definitions.update(_v2(document["components"]["schemas"]))
        for path, item in document["paths"].items():
            paths[path] = {method: ([_v2_parameter(p) for p in op] if method == "parameters" else _v2_operation(op))
                           for method, op in item.items()}
    return {"swagger": "2.0", "info": _info_block(), "paths": dict(sorted(paths.items())),
            "definitions": dict(sorted(definitions.items()))}


@dataclass(frozen=True)
class Published:
    """A document as served: its JSON and the hash that names this version of it."""

    body: bytes
    hash: str


def _published(document: Schema) -> Published:
    body = orjson.dumps(document)
    return Published(body=body, hash=hashlib.sha512(body).hexdigest().upper())


@cache
def v3_documents() -> dict[str, Published]:
    """Every group-version's v3 document by its index name (`api/v1`, `apis/apps/v1`)."""
    return {path: _published(v3_document(kinds)) for path, kinds in _by_group_version().items()}


@cache
def v3_index() -> Published:
    """`/openapi/v3`: each group-version with the URL (and hash) of its document."""
    return _published({"paths": {path: {"serverRelativeURL": f"/openapi/v3/{path}?hash={doc.hash}"}
                                 for path, doc in v3_documents().items()}})


@cache
def v2() -> Published:
    return _published(v2_document([orjson.loads(doc.body) for doc in v3_documents().values()]))


@cache
def all_components() -> dict[str, Schema]:
    """Every component schema of every group-version (what field validation checks against)."""
    merged: dict[str, Schema] = {}
    for doc in v3_documents().values():
        merged.update(orjson.loads(doc.body)["components"]["schemas"])
    return merged
