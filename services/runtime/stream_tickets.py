"""Stream tickets: how a kubelet knows that an exec, attach or port-forward it is asked to
run was authorised by the apiserver. The apiserver checks the caller (authentication,
RBAC `create` on `pods/exec|attach|portforward`), then writes a ticket naming exactly
what may run — node, pod, container, command, streams, ports, who asked — valid for
`LIFETIME_S`, and MACs it with the node's streaming key; the kubelet takes everything it
does from the ticket (never from the query), checks the MAC, the node, the expiry, and
that the nonce was not used before.

Why this key: the cluster already gives every node a secret of its own, its bus writer
key (`derive(observed master, "system:node:<name>")`, `kafkube keys init DIR --node
NAME`), and the control plane's key file holds the master it is derived from. The
streaming key is a second derivation of it for this one purpose (a ticket can never be
taken for a record signature), so only the control plane and that node can make tickets
for the node, and a node's stolen key opens no other node's containers. No new key
material, no certificate to issue per node. On an insecure bus (no keys) there is no
ticket key, and the kubelet serves no streams at all.

Pure but for the clock handed in; used by `services.apiserver.streams` (seal) and
`services.kubelet.streaming.endpoint` (open)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from services.runtime.trust import BusTrust, node_identity

LIFETIME_S = 30.0
PURPOSE = b"kafkube kubelet stream ticket v1"
HEADER = "X-Kafkube-Stream-Ticket"
Verb = Literal["exec", "attach", "portforward"]


class TicketRefused(ValueError):
    """The ticket is missing, forged, for another node, expired or used before."""


class StreamTicket(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    node: str
    verb: Verb
    namespace: str
    pod: str
    uid: str | None = None
    container: str = ""
    command: tuple[str, ...] = ()
    stdin: bool = False
    stdout: bool = True
    stderr: bool = True
    tty: bool = False
    ports: tuple[int, ...] = ()
    user: str
    expires: float
    nonce: str

    @property
    def pod_key(self) -> str:
        return f"{self.namespace}/{self.pod}"


def ticket_key(trust: BusTrust, node: str) -> bytes | None:
    """The node's streaming key (None on an insecure bus: streams are not served)."""
    writer = trust.writer_key(node_identity(node))
    return None if writer is None else hmac.digest(writer.secret, PURPOSE, hashlib.sha256)


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def seal(ticket: StreamTicket, key: bytes) -> str:
    """`<base64url JSON>.<hex HMAC-SHA256>`."""
    body = base64.urlsafe_b64encode(ticket.model_dump_json().encode()).decode().rstrip("=")
    return f"{body}.{hmac.new(key, body.encode(), hashlib.sha256).hexdigest()}"


def open_ticket(text: str | None, key: bytes, *, node: str, now: float) -> StreamTicket:
    """The ticket `text` carries, if its MAC holds, it names `node` and it has not expired."""
    body, _, digest = (text or "").strip().partition(".")
    expected = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
    if not body or not hmac.compare_digest(expected, digest):
        raise TicketRefused("no valid stream ticket")
    try:
        ticket = StreamTicket.model_validate_json(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValidationError, ValueError) as exc:
        raise TicketRefused("a malformed stream ticket") from exc
    if ticket.node != node:
        raise TicketRefused(f"the ticket is for node {ticket.node}")
    if ticket.expires < now:
        raise TicketRefused("the ticket has expired")
    return ticket


class SeenNonces:
    """The nonces of tickets used and not yet expired: a ticket opens one stream only."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}

    def first_use(self, ticket: StreamTicket, *, now: float) -> bool:
        self._seen = {n: t for n, t in self._seen.items() if t >= now}
        if ticket.nonce in self._seen:
            return False
        self._seen[ticket.nonce] = ticket.expires
        return True
