"""Which Secrets the ingress controller may read: the TLS Secrets named in `spec.tls` of
the Ingresses it serves (class `kafkube.io/ingress`, or none when that class is the
default: `schemas.networking.served_by`). The rule narrows RBAC's `get secrets`, which
its ClusterRole grants cluster-wide (RBAC cannot name Secrets that Ingresses will name),
as the Node authorizer narrows a kubelet's. Asked by `services.api.secret_reads` for a
`SecretRequest` of `system:kafkube-ingress`.

`IngressTlsIndex` follows `desired.ingresses` and `desired.ingressclasses` across all
partitions (bus-trusted, as the other API views); a miss is looked up again after a read
barrier, so an Ingress committed before the request is always seen.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.networking import INGRESS_CONTROLLER, served_by, tls_secret_names
from services.runtime.buskeys import bus_trust
from services.runtime.config import Settings
from services.runtime.informer import Informer
from services.runtime.topics import Topics

NOT_NAMED = f"no Ingress of the {INGRESS_CONTROLLER} controller names this Secret in spec.tls"


def names_secret(ingresses: Mapping[str, Mapping[str, Any]], classes: Mapping[str, Mapping[str, Any]],
                 namespace: str, name: str) -> bool:
    """Does an Ingress of `namespace` served by Kafkube's controller name Secret `name` for TLS?"""
    return any(key.startswith(f"{namespace}/") and name in tls_secret_names(ingress)
               and served_by(ingress, classes, INGRESS_CONTROLLER) for key, ingress in ingresses.items())


class IngressTlsIndex:
    def __init__(self, settings: Settings, topics: Topics) -> None:
        self._ing_t, self._cls_t = topics.desired("ingresses"), topics.desired("ingressclasses")
        self._informer: Informer[Any] = Informer(settings, [self._ing_t, self._cls_t], name="api-ingress-tls",
                                                 trust=bus_trust(settings))

    async def __aenter__(self) -> IngressTlsIndex:
        await self._informer.start()
        await self._informer.wait_synced()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._informer.stop()

    def _names(self, namespace: str, name: str) -> bool:
        return names_secret(self._informer.items(self._ing_t), self._informer.items(self._cls_t), namespace, name)

    async def names_secret(self, namespace: str, name: str) -> bool:
        if self._names(namespace, name):
            return True
        await self._informer.barrier()
        return self._names(namespace, name)
