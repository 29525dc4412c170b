"""What a `pods/exec`, `pods/attach` or `pods/portforward` request asks of a pod's kubelet,
as kube-apiserver checks it: the stream ticket the kubelet will run (container, command,
streams, ports; `services.runtime.stream_tickets`) and where that kubelet serves streams
(the Node's InternalIP and `status.daemonEndpoints.kubeletEndpoint.Port`). A request
that cannot be served is a `StreamRefused` with upstream's reason and message. Pure; used
by `services.apiserver.stream_proxy`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from multidict import MultiMapping

from services.runtime.podlogs import LogsError, pick_container
from services.runtime.stream_tickets import LIFETIME_S, StreamTicket, Verb

STREAMS: dict[str, Verb] = {"exec": "exec", "attach": "attach", "portforward": "portforward"}  # pods/<subresource>
COMPLETED = ("Succeeded", "Failed")
_DOING = {"exec": "exec into", "attach": "attach to", "portforward": "port-forward to"}


class StreamRefused(ValueError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _flag(query: MultiMapping[str], name: str, default: bool) -> bool:
    value = query.get(name)
    return default if value is None else value.lower() in ("1", "true")


def _ports(query: MultiMapping[str]) -> tuple[int, ...]:
    try:
        ports = tuple(int(p) for value in query.getall("ports", ()) for p in value.split(","))
    except ValueError as exc:
        raise StreamRefused("BadRequest", f"unable to parse port: {exc}") from exc
    if not all(0 < p < 65536 for p in ports):
        raise StreamRefused("BadRequest", "a port is in 1-65535")
    return ports  # none: kubectl names ports per connection, in its SPDY streams


def stream_ticket(pod: Mapping[str, Any], verb: Verb, query: MultiMapping[str], *, user: str, now: float,
                  nonce: str) -> StreamTicket:
    """The ticket for `verb` on `pod` as the query asks it (upstream's checks and messages)."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    if not spec.get("nodeName"):
        raise StreamRefused("BadRequest", f"pod {meta.get('name')} does not have a host assigned")
    if status.get("phase") in COMPLETED:
        raise StreamRefused("BadRequest", f"cannot {_DOING[verb]} a container in a completed pod; "
                            f"current phase is {status['phase']}")
    base = StreamTicket(node=spec["nodeName"], verb=verb, namespace=meta.get("namespace", ""),
                        pod=meta.get("name", ""), uid=meta.get("uid"), user=user, expires=now + LIFETIME_S,
                        nonce=nonce)
    if verb == "portforward":
        return base.model_copy(update={"ports": _ports(query), "stdout": False, "stderr": False})
    try:
        container = pick_container(dict(pod), query.get("container") or None)
    except LogsError as exc:
        raise StreamRefused("BadRequest", str(exc)) from exc
    command = tuple(query.getall("command", ()))
    if verb == "exec" and not command:
        raise StreamRefused("BadRequest", "you must specify at least 1 command")
    streams = {name: _flag(query, name, default=name != "stdin") for name in ("stdin", "stdout", "stderr")}
    if not any(streams.values()):
        raise StreamRefused("BadRequest", "you must specify at least 1 of stdin, stdout, stderr")
    return base.model_copy(update={"container": container, "command": command if verb == "exec" else (),
                                   "tty": _flag(query, "tty", default=False), **streams})


def kubelet_address(node: Mapping[str, Any] | None, name: str) -> tuple[str, int]:
    """(host, port) of the node's streaming endpoint."""
    status = (node or {}).get("status") or {}
    port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port")
    hosts = [a.get("address") for a in status.get("addresses") or [] if a.get("type") == "InternalIP"]
    if not port or not hosts:
        raise StreamRefused("ServiceUnavailable", f"node {name} serves no exec, attach or port-forward "
                            "(no kubelet endpoint in its status: a hollow node, or a bus without keys)")
    return str(hosts[0]), int(port)
