"""`serviceaccounts/<name>/token` (POST a `TokenRequest`, authentication.k8s.io/v1;
`kubectl create token`): asked of the API as the HTTP caller, who must be allowed
`create serviceaccounts/token` (the API decides, as for a kubelet's request), with a
one-off X25519 key the answer is sealed for (services/runtime/token_requests.py, shared
with the kubelet): the token crosses the bus only sealed, and is answered here in clear,
over TLS, as kube-apiserver answers it (201 Created, `status.token` and
`status.expirationTimestamp`). The token is a ServiceAccount token the door accepts.
Called by `services.apiserver.resources`."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from schemas.tokens import DEFAULT_EXPIRATION_S, TOKEN_REQUEST_API_VERSION, TOKEN_REQUEST_KIND
from services.api.sa_tokens import API_AUDIENCES
from services.apiserver import protobuf
from services.apiserver.answers import Requests
from services.apiserver.auth import Caller
from services.apiserver.http import PROTOBUF, BadBody, error, json_body, json_response
from services.apiserver.paths import ResourcePath
from services.runtime.sealing import Recipient
from services.runtime.token_requests import TokenAnswerError, answer_token, token_request

Obj = dict[str, Any]
WRITER = "apiserver"


async def _body(request: web.Request) -> Obj:
    if request.content_type == PROTOBUF:
        try:
            return protobuf.token_request(await request.read())
        except protobuf.ProtobufError as exc:
            raise BadBody(str(exc)) from None
    body: Obj = await json_body(request)
    return body


def _spec(body: Obj, path: ResourcePath) -> Obj:
    """The request's spec, or BadBody when its metadata names another ServiceAccount."""
    meta = body.get("metadata") or {}
    if meta.get("namespace") and meta["namespace"] != path.namespace:
        raise BadBody("the namespace of the provided object does not match the namespace sent on the request")
    if meta.get("name") and meta["name"] != path.name:
        raise BadBody(f"the name of the object ({meta['name']}) does not match the name on the URL ({path.name})")
    spec = body.get("spec")
    return spec if isinstance(spec, dict) else {}


async def serve_token(request: web.Request, requests: Requests, path: ResourcePath, caller: Caller) -> web.Response:
    """POST: the TokenRequest answered with its token (201), or the API's refusal as a Status."""
    if request.method != "POST":
        return error("MethodNotAllowed", "the server does not allow this method on the requested resource "
                     f"({request.method} serviceaccounts/token)")
    try:
        spec = _spec(await _body(request), path)
    except BadBody as exc:
        return error(getattr(exc, "reason", "BadRequest"), str(exc))
    recipient = Recipient()
    asked = token_request(path.namespace, path.name, spec, writer=WRITER, principal=caller.user.name,
                          recipient=recipient)
    answer = await requests.send(asked, caller=caller)
    if answer is None:
        return error("Timeout", "the API did not answer the TokenRequest in time")
    if answer.rejected:
        return error(answer.status_reason or "InternalError", answer.message, name=path.name, kind="serviceaccounts")
    try:
        answered = answer_token(answer.event, asked, recipient=recipient)
    except TokenAnswerError as exc:
        return error(exc.reason, str(exc))
    created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json_response({
        "kind": TOKEN_REQUEST_KIND, "apiVersion": TOKEN_REQUEST_API_VERSION,
        "metadata": {"name": path.name, "namespace": path.namespace, "creationTimestamp": created},
        "spec": {**spec, "audiences": spec.get("audiences") or list(API_AUDIENCES),
                 "expirationSeconds": spec.get("expirationSeconds") or DEFAULT_EXPIRATION_S},
        "status": {"token": answered.token, "expirationTimestamp": answered.expiration_timestamp},
    }, status=201)
