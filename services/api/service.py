"""Wiring of the API service: topics, the cluster views (namespaces, nodes, RBAC), the
authenticator (static tokens and ServiceAccount tokens, checked against the
ServiceAccount index), Secret storage (encryption at rest from KAFKUBE_ENCRYPTION_CONFIG),
the manifest intake and the request writer (which also answers TokenRequests and
SecretRequests), run under the process supervisor by `kafkube serve api`."""

from __future__ import annotations

from typing import Any

from schemas.records import Op, WriteRequest
from schemas.storage import STORAGE_GROUP, default_local_class
from services.api.access import AccessControl
from services.api.authn import authenticator_for
from services.api.cluster_views import BUILTIN_NAMESPACES, ClusterViews
from services.api.ingress_tls import IngressTlsIndex
from services.api.intake import ManifestPartition
from services.api.rbac_view import RbacView, bootstrap_requests
from services.api.sa_index import ServiceAccountIndex
from services.api.sa_tokens import ServiceAccountVerifier, TokenIssuer
from services.api.secret_reads import SecretReads
from services.api.secret_storage import SecretStorage
from services.api.service_accounts import TokenRequests, default_service_account
from services.api.writer import RequestPartition
from services.runtime.bus import encode, make_producer
from services.runtime.buskeys import bus_trust
from services.runtime.config import Settings
from services.runtime.logging import get_logger
from services.runtime.supervisor import Component
from services.runtime.topics import Topics
from services.runtime.transactional import TransactionalLoop

log = get_logger(__name__)


def api_components(settings: Settings) -> dict[str, Component]:
    topics = Topics(settings.topic_prefix)
    trust = bus_trust(settings)
    index = ServiceAccountIndex(settings, topics)
    issuer = TokenIssuer.from_file(settings.service_account_key_file)
    authenticator = authenticator_for(settings.token_auth_file,
                                      verifiers=(ServiceAccountVerifier(issuer, index),) if issuer else ())
    if not settings.token_auth_file:
        log.warning("api.no_token_file", hint="set KAFKUBE_TOKEN_AUTH_FILE (kafkube init writes one): "
                    "without it every write is anonymous and refused")
    if issuer is None:
        log.warning("api.no_service_account_key", hint="set KAFKUBE_SERVICE_ACCOUNT_KEY_FILE (kafkube init "
                    "writes one): without it no ServiceAccount token is issued or accepted, and kubelets "
                    "cannot mount one into pods")
    tokens = TokenRequests(issuer, index, trust.ring)
    secrets = SecretStorage.from_path(settings.encryption_config)
    if not secrets.encrypts:
        log.warning("api.no_encryption", hint="set KAFKUBE_ENCRYPTION_CONFIG (kafkube init writes one): without it "
                    "Secret values are stored in clear in kafkube.desired.secrets and kafkube.requests")
    ingress_tls = IngressTlsIndex(settings, topics)  # the TLS Secrets the ingress controller may read
    secret_reads = SecretReads(secrets, index, trust.ring, ingress_tls)
    intake = TransactionalLoop(settings, topics.manifests, group="api-intake",
                               factory=lambda _p: ManifestPartition(settings, topics, authenticator, secrets))

    async def run_intake() -> None:
        async with index:  # ServiceAccount tokens are authenticated against it
            await intake.run()

    async def run_writer() -> None:
        views, rbac = ClusterViews.of(settings, topics), RbacView(settings, topics)
        await views.start()
        await rbac.start()
        try:
            await rbac.wait_synced()
            access = AccessControl(authenticator, rbac, bootstrap=_by_key(bootstrap_writes()))
            writer = TransactionalLoop(
                settings, topics.requests, group="api-writer",
                factory=lambda p: RequestPartition(settings, topics, views, access, p, trust=trust, tokens=tokens,
                                                   secrets=secrets, secret_reads=secret_reads))
            await ensure_bootstrap(settings, topics)
            async with index, ingress_tls:
                await writer.run()
        finally:
            await rbac.stop()
            await views.stop()

    return {"api-intake": run_intake, "api-writer": run_writer}


def bootstrap_writes() -> list[WriteRequest]:
    """What every API instance ensures at start: the built-in namespaces, their `default`
    ServiceAccounts, the default RBAC policy and the default StorageClass (ENSURE: created
    where missing, left alone where present)."""
    namespaces = [WriteRequest(op=Op.ENSURE, apiVersion="v1", kind="Namespace", name=name,
                               body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
                               writer="api", reply=False) for name in BUILTIN_NAMESPACES]
    storage_class = WriteRequest(op=Op.ENSURE, apiVersion=f"{STORAGE_GROUP}/v1", kind="StorageClass",
                                 name=default_local_class()["metadata"]["name"], body=default_local_class(),
                                 writer="api", reply=False)
    return [*namespaces, *(default_service_account(n) for n in BUILTIN_NAMESPACES), *bootstrap_requests(), storage_class]


def _by_key(requests: list[WriteRequest]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r.kind, r.key): r.body or {} for r in requests}


async def ensure_bootstrap(settings: Settings, topics: Topics) -> None:
    async with make_producer(settings) as producer:
        for request in bootstrap_writes():
            await producer.send_and_wait(topics.requests, key=request.key.encode(), value=encode(request))
