"""Who may write which state record, and the check each informer runs on every record
before decoding it (DESIGN.md §8). `BusTrust` is one process's keys bound to the topic
prefix: it signs what the process writes (`sign_desired`, `observed_signer`) and makes
a `RecordGate` per informer. Built by `services.runtime.buskeys.bus_trust(settings)`;
the HMAC itself is `services.runtime.signing`. Writers, per topic:

| topic | may be written by |
|---|---|
| `desired.*` | whoever holds a desired-record key (the API) |
| `observed.pods` | `system:node:<spec.nodeName of the desired pod>`; while the pod is unbound, `system:kube-scheduler` |
| `observed.nodes` | `system:node:<that node>`, `system:kube-controller-manager` (Ready=Unknown) |
| `observed.ingresses` | `system:kafkube-ingress` (the ingress controller) |
| any other `observed.*` | `system:kube-controller-manager` (controllers, endpoints) |

The observed-pod check needs the pod's node, so a gate over `observed.pods` needs the
same informer to hold `desired.pods` (the join happens in the gate; see the runtime
README for what is held back until the desired pod is seen).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable
from typing import Any

from services.runtime.errors import KafkubeError
from services.runtime.logging import get_logger
from services.runtime.signing import (
    SIGNATURE_HEADER, DesiredKeys, KeyRing, ObservedMasters, WriterKey, canonical, signature_of, with_signature,
)

log = get_logger(__name__)
NODE_PREFIX = "system:node:"
SCHEDULER = "system:kube-scheduler"
CONTROLLER_MANAGER = "system:kube-controller-manager"
INGRESS = "system:kafkube-ingress"  # the ingress controller: writes observed.ingresses


class BusKeysError(KafkubeError):
    """This process lacks the bus keys it needs (or its key file is unusable)."""


def node_identity(node: str) -> str:
    return f"{NODE_PREFIX}{node}"


class Verdict(enum.Enum):
    ACCEPT = "accept"
    REFUSE = "refuse"
    HOLD = "hold"  # a node's pod status whose desired pod (or its binding) is not seen yet


UNKNOWN: Any = object()  # the desired pod is not in the view


def observed_verdict(plural: str, key: str, identity: str, *, pod_node: Any = UNKNOWN,
                     tombstone: bool = False) -> Verdict:
    """May `identity` write `observed.<plural>/<key>`? For pods, `pod_node` is the desired
    pod's spec.nodeName (None: unbound; UNKNOWN: no desired pod in the view)."""
    node = identity[len(NODE_PREFIX):] if identity.startswith(NODE_PREFIX) else None
    if plural == "pods":
        if pod_node is UNKNOWN:
            if node or identity == SCHEDULER:  # a tombstone then removes what nobody reads
                return Verdict.ACCEPT if tombstone else Verdict.HOLD
            return Verdict.REFUSE
        if pod_node is None:
            if identity == SCHEDULER:
                return Verdict.ACCEPT
            return Verdict.HOLD if node else Verdict.REFUSE  # the bind may be on its way
        return Verdict.ACCEPT if node == pod_node else Verdict.REFUSE
    if plural == "nodes":
        return Verdict.ACCEPT if node == key or identity == CONTROLLER_MANAGER else Verdict.REFUSE
    if plural == "ingresses":
        return Verdict.ACCEPT if identity == INGRESS else Verdict.REFUSE
    return Verdict.ACCEPT if identity == CONTROLLER_MANAGER else Verdict.REFUSE


class ObservedSigner:
    """Signs the observed records one identity writes (no-op on an insecure bus)."""

    def __init__(self, prefix: str, key: WriterKey | None, identity: str) -> None:
        self._prefix, self._key, self.identity = prefix, key, identity

    def headers(self, topic: str, key: str, value: bytes | None,
                headers: Iterable[tuple[str, bytes]] = ()) -> list[tuple[str, bytes]]:
        """The headers to send with the record: `headers` plus its signature."""
        if self._key is None:
            return list(headers)
        data = canonical(_suffix(self._prefix, topic), key.encode(), value, headers)
        return list(with_signature(headers, self._key.sign(data)))


class BusTrust:
    """One process's bus keys, bound to the topic prefix. `ring=None`: an insecure bus
    (KAFKUBE_INSECURE_BUS=1): nothing is signed and nothing verified."""

    def __init__(self, prefix: str, ring: KeyRing | None) -> None:
        self.prefix, self.ring = prefix, ring
        self._desired: DesiredKeys | None = ring.desired_keys() if ring else None
        self._masters: ObservedMasters | None = ring.masters() if ring else None

    @property
    def insecure(self) -> bool:
        return self.ring is None

    def sign_desired(self, topic: str, key: str | None, value: bytes | None,
                     headers: Iterable[tuple[str, bytes]] = ()) -> tuple[tuple[str, bytes], ...]:
        """`headers` plus the desired-record signature (the API's writer calls this)."""
        if self.ring is None:
            return tuple(headers)
        if self._desired is None:
            raise BusKeysError("this process holds no desired-record key: it cannot write desired state")
        headers = tuple(headers)
        data = canonical(_suffix(self.prefix, topic), None if key is None else key.encode(), value, headers)
        return with_signature(headers, self._desired.sign(data))

    def observed_signer(self, identity: str) -> ObservedSigner:
        """The signer of `identity`'s observed records (`writer_key`)."""
        return ObservedSigner(self.prefix, self.writer_key(identity), identity)

    def writer_key(self, identity: str) -> WriterKey | None:
        """`identity`'s derived key: from the master when this process holds it, else the
        key file's own writer key, which must be `identity`'s (None on an insecure bus)."""
        if self.ring is None:
            return None
        if self._masters is not None:
            return self._masters.writer(identity)
        writer = self.ring.writer
        if writer is None or writer.identity != identity:
            held = f"the writer key of {writer.identity}" if writer else "no writer key"
            raise BusKeysError(f"cannot sign observed records as {identity}: the bus key file holds {held} "
                               f"(`kafkube keys init DIR --node NAME` writes a node's file)")
        return writer.key()

    def gate(self, topics: Collection[str], *, name: str = "informer") -> "RecordGate | None":
        """The check for an informer over `topics` (None on an insecure bus)."""
        if self.ring is None:
            return None
        return RecordGate(self.prefix, topics, desired=self._desired, masters=self._masters, name=name)


def _suffix(prefix: str, topic: str) -> str:
    return topic[len(prefix):] if topic.startswith(prefix) else topic


def _node_name(pod: Any) -> str | None:
    """spec.nodeName of a decoded desired pod (a dict, or a model with spec.node_name)."""
    if isinstance(pod, dict):
        return (pod.get("spec") or {}).get("nodeName")
    spec = getattr(pod, "spec", None)
    return getattr(spec, "node_name", None)


class RecordGate:
    """Every record of a state topic passes `admit` before the informer decodes it: a
    desired record needs a valid desired signature; an observed record a valid writer
    signature AND a writer allowed for it (`observed_verdict`). Refused records are
    logged (`record.forged`), counted, and never replace the key's value. Observed pod
    records the gate cannot judge yet are held, in order (the last `HELD_PER_KEY` of a
    key), and handed back by `released` when the desired pod changes, to be judged one by
    one: keeping only the latest lost a valid status behind a stale one (a pod's old node
    reporting on the pod's earlier incarnation of the same name, which is then refused).
    An accepted record supersedes what was held before it."""

    HELD_PER_KEY = 8

    def __init__(self, prefix: str, topics: Collection[str], *, desired: DesiredKeys | None,
                 masters: ObservedMasters | None, name: str) -> None:
        self._name = name
        self._suffix = {t: _suffix(prefix, t) for t in topics
                        if _suffix(prefix, t).startswith(("desired.", "observed."))}
        if any(s.startswith("desired.") for s in self._suffix.values()) and desired is None:
            raise BusKeysError(f"{name} reads desired state but this process holds no desired-record key")
        if any(s.startswith("observed.") for s in self._suffix.values()) and masters is None:
            raise BusKeysError(f"{name} reads observed state but this process holds no observed master key")
        self._desired, self._masters = desired, masters
        self._pods_t, self._opods_t = f"{prefix}desired.pods", f"{prefix}observed.pods"
        self._joins = self._opods_t in self._suffix
        if self._joins and self._pods_t not in self._suffix:
            raise ValueError(f"{name}: checking observed.pods needs desired.pods in the same informer")
        self._node_of: dict[str, str | None] = {}  # desired pod key -> spec.nodeName
        self._held: dict[str, list[Any]] = {}  # observed pod key -> the records held back, oldest first
        self.refused = 0

    def admit(self, topic: str, key: str, record: Any) -> bool:
        suffix = self._suffix.get(topic)
        if suffix is None:
            return True  # not a state topic
        headers = record.headers or ()
        data = canonical(suffix, record.key, record.value, headers)
        signature = signature_of(headers)
        if suffix[0] == "d":  # desired.*
            assert self._desired is not None
            return self._desired.verify(signature, data) or self._refuse(topic, key, record, "bad signature")
        assert self._masters is not None
        identity = self._masters.verify(signature, data)
        if identity is None:
            return self._refuse(topic, key, record, "bad signature")
        plural = suffix[len("observed."):]
        pod_node = self._node_of.get(key, UNKNOWN) if topic == self._opods_t else UNKNOWN
        verdict = observed_verdict(plural, key, identity, pod_node=pod_node, tombstone=record.value is None)
        if verdict is Verdict.REFUSE:
            return self._refuse(topic, key, record, f"{identity} may not write it", identity=identity)
        if topic == self._opods_t:
            if verdict is Verdict.HOLD:
                held = self._held.setdefault(key, [])
                held.append(record)
                del held[:-self.HELD_PER_KEY]
                return False
            self._held.pop(key, None)
        return True

    def released(self, topic: str, key: str, new: Any) -> list[Any]:
        """After a desired pod change: remember its node; the observed records held for it,
        oldest first, to apply now (the informer passes each through `admit` again)."""
        if not self._joins or topic != self._pods_t:
            return []
        if new is None:
            self._node_of.pop(key, None)
            return []
        self._node_of[key] = _node_name(new)
        return self._held.pop(key, [])

    @property
    def held(self) -> int:
        """How many records are held back."""
        return sum(map(len, self._held.values()))

    def _refuse(self, topic: str, key: str, record: Any, reason: str, *, identity: str | None = None) -> bool:
        self.refused += 1
        log.warning("record.forged", informer=self._name, topic=topic, partition=record.partition,
                    offset=record.offset, key=key, reason=reason, identity=identity,
                    signed=any(n == SIGNATURE_HEADER for n, _ in record.headers or ()))
        return False
