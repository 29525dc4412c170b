"""The API's existence index of ServiceAccounts and pods, across all partitions: what a
ServiceAccount token's verification (is its ServiceAccount, is its pod, still there?),
a TokenRequest's pod binding and a kubelet's SecretRequest (does its pod use the
Secret?) look up. It follows `desired.serviceaccounts` and
`desired.pods` (bus-trusted, as the other API views) and keeps per ServiceAccount its uid
and per pod its record, read into facts (uid, node, deletion time, the Secrets it uses)
only when looked up: the controllers and the scheduler write every pod several times,
and decoding each version cost the API more than any lookup does.

Shared by the API's intake and writer (both authenticate): each enters it
(`async with index`), the first start waits until it is synced, the last leaves stops it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from schemas.pod_references import referenced_names
from services.runtime.buskeys import bus_trust
from services.runtime.config import Settings
from services.runtime.informer import Informer
from services.runtime.topics import Topics


@dataclass(frozen=True, slots=True)
class PodFacts:
    uid: str
    node: str
    service_account: str
    deleting_since: float | None = None  # metadata.deletionTimestamp, seconds since the epoch
    secrets: frozenset[str] = frozenset()  # the Secrets its spec uses (the Node authorizer's edges)

    def deleted_before(self, when: float) -> bool:
        return self.deleting_since is not None and self.deleting_since < when


def pod_facts(doc: dict[str, Any]) -> PodFacts:
    meta, spec = doc.get("metadata") or {}, doc.get("spec") or {}
    deleting = meta.get("deletionTimestamp")
    since = None
    if isinstance(deleting, str):
        try:
            since = datetime.fromisoformat(deleting.replace("Z", "+00:00")).timestamp()
        except ValueError:
            since = 0.0  # unreadable: treat as long deleting
    return PodFacts(str(meta.get("uid") or ""), str(spec.get("nodeName") or ""),
                    str(spec.get("serviceAccountName") or "default"), since, referenced_names(doc, "secrets"))


class ServiceAccountIndex:
    def __init__(self, settings: Settings, topics: Topics) -> None:
        self._sa_topic, self._pod_topic = topics.desired("serviceaccounts"), topics.desired("pods")
        self._informer: Informer[Any] = Informer(settings, [self._sa_topic, self._pod_topic], decoder=self._decode,
                                                 name="api-sa-index", trust=bus_trust(settings))
        self._users = 0
        self._lock = asyncio.Lock()

    def _decode(self, topic: str, raw: bytes) -> Any:
        if topic == self._pod_topic:
            return raw  # decoded when looked up: most pod versions never are (a pod is written ~3 times)
        return str((orjson.loads(raw).get("metadata") or {}).get("uid") or "")

    async def __aenter__(self) -> ServiceAccountIndex:
        async with self._lock:
            if self._users == 0:
                await self._informer.start()
            self._users += 1
        await self._informer.wait_synced()
        return self

    async def __aexit__(self, *exc: object) -> None:
        async with self._lock:
            self._users -= 1
            if self._users == 0:
                await self._informer.stop()

    # -- sync lookups (the token verifier) ----------------------------------------------------
    def service_account_uid(self, namespace: str, name: str) -> str | None:
        found = self._informer.get(self._sa_topic, f"{namespace}/{name}")
        return found if isinstance(found, str) else None

    def pod(self, namespace: str, name: str) -> PodFacts | None:
        found = self._informer.get(self._pod_topic, f"{namespace}/{name}")
        return pod_facts(orjson.loads(found)) if isinstance(found, bytes) else None

    # -- with a read barrier on a miss (a TokenRequest's bound pod) ------------------------------
    async def lookup_pod(self, namespace: str, name: str, uid: str = "", node: str = "") -> PodFacts | None:
        """The pod; on a miss (or another uid: an older version; or, for a node asking, not
        yet bound to it: its bind may be in flight) after a read barrier, so a pod committed
        before the request is always seen as committed."""
        found = self.pod(namespace, name)
        if found is None or (uid and found.uid != uid) or (node and found.node != node):
            await self._informer.barrier()
            found = self.pod(namespace, name)
        return found
