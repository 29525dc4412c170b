"""The request writer: the one writer of desired state (DESIGN.md §3.1).

It owns `kafkube.requests` partitions through a TransactionalLoop. For partition p
it loads partition p of every desired topic (keys are co-partitioned: a request's
key and its object's key hash alike), then applies requests one at a time with
`decide`, writing the desired record and the answer event in the same transaction
as the consumed offset. A crash therefore never applies a request twice or loses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from time import perf_counter
from typing import Any
from uuid import uuid4

import orjson
from aiokafka.errors import KafkaError

from schemas.records import (DRY_RUN_ANNOTATION, OP_HEADER, PRINCIPAL_HEADER, REQUEST_ID_HEADER, WRITER_HEADER, Op,
                             WriteRequest)
from schemas.auth import ANONYMOUS_USER, AuditRecord, Decision, UserInfo
from schemas.limits import MAX_REQUEST_BYTES, entity_too_large
from schemas.podsecurity import NamespacePolicy
from schemas.registry import KindInfo, lookup_kind
from schemas.secret_fields import LAST_APPLIED, error_text
from services.api import impersonation
from services.api.access import AccessControl
from services.api.audit import audit_record
from services.api.pod_security import AUDIT_ANNOTATION, namespace_levels
from services.api.reviews import is_review, review
from services.api.secret_reads import SecretReads, is_secret_request
from services.api.secret_storage import SecretStorage, SecretValueError
from services.api.service_accounts import TokenRequests, default_service_account, is_token_request
from services.api.allocation import Ranges, Share
from services.api.cluster_views import BUILTIN_NAMESPACES, ClusterViews, NamespaceFacts
from services.api.decide import Context, Outcome, decide, rejected
from services.api.envelope import envelope_problem
from services.api.service_addresses import AddressBook
from services.runtime.bus import encode, partition_for
from services.runtime.config import Settings
from services.runtime.events import STATUS_REASON_ANNOTATION, event_key, involved_object, make_event
from services.runtime.informer import Informer
from services.runtime.logging import get_logger
from services.runtime.metrics import API_ANSWERS, API_DECISION_SECONDS
from services.runtime.topics import Topics
from services.runtime.transactional import Out
from services.runtime.trust import BusTrust

log = get_logger(__name__)
CREATING_OPS = (Op.CREATE, Op.APPLY, Op.ENSURE)
ADMITTED_OPS = (Op.CREATE, Op.APPLY, Op.ENSURE, Op.UPDATE, Op.PATCH)
POD_TEMPLATE_KINDS = frozenset({"Pod", "ReplicationController", "ReplicaSet", "Deployment", "DaemonSet",
                                "StatefulSet", "Job", "CronJob"})
WARNINGS_ANNOTATION = "kafkube.io/warnings"


class RequestPartition:
    """State and decisions for one partition of `kafkube.requests`."""

    def __init__(self, settings: Settings, topics: Topics, views: ClusterViews, access: AccessControl,
                 partition: int, *, trust: BusTrust, tokens: TokenRequests | None = None,
                 secrets: SecretStorage | None = None, secret_reads: SecretReads | None = None) -> None:
        self._settings = settings
        self._tokens = tokens  # answers TokenRequests (None: no ServiceAccount tokens here)
        self._secrets = secrets or SecretStorage(None)  # Secret values: opened to decide, encrypted to store
        self._secret_reads = secret_reads  # answers SecretRequests (None: none here)
        self._topics = topics
        self._views = views
        self._access = access
        self._trust = trust  # signs every desired record: consumers trust only what the API wrote
        self._partition = partition
        # desired topic -> key -> the stored JSON, kept encoded (a fifth of a dict's memory)
        self._state: dict[str, dict[str, bytes]] = {}
        self._pending: dict[tuple[str, str], tuple[dict[str, Any], bytes] | None] = {}

    async def start(self) -> None:
        view: Informer[bytes] = Informer(self._settings, self._topics.all_desired(),
                                         partitions={self._partition}, follow=False,
                                         decoder=lambda _topic, raw: raw, name=f"api-load-{self._partition}",
                                         trust=self._trust)  # a record the API did not sign is not state
        async with view:
            await view.wait_synced()
            self._state = {topic: dict(view.items(topic)) for topic in view}
        log.info("partition.loaded", partition=self._partition,
                 objects=sum(len(s) for s in self._state.values()))

    async def process(self, records: Sequence[Any]) -> list[Out]:
        self._pending = {}
        out: list[Out] = []
        for record in records:
            started = perf_counter()
            out += await self._one(record)
            API_DECISION_SECONDS.observe(perf_counter() - started)
        return out

    def committed(self) -> None:
        for (topic, key), written in self._pending.items():
            if written is None:
                self._state.get(topic, {}).pop(key, None)
            else:
                self._state.setdefault(topic, {})[key] = written[1]
        self._pending = {}

    def discard(self) -> None:
        self._pending = {}

    # -- one request -----------------------------------------------------------------
    async def _one(self, record: Any) -> list[Out]:
        """Exactly one answer per record, whatever it holds; only Kafka's own failures
        (reading a view) leave here, and the loop retries the batch."""
        now = datetime.now(timezone.utc)
        try:
            request = WriteRequest.model_validate_json(record.value or b"")
            question = is_review(request) or is_token_request(request) or is_secret_request(request)
            info = None if question else lookup_kind(request.api_version, request.kind)
        except Exception as exc:  # noqa: BLE001 - any undecodable record is answered
            return [self._malformed(record, exc, now)]
        decided = Decided(request, info, self._topics.desired(info.plural) if info else "",
                          f"{record.topic}/{record.partition}/{record.offset}")
        decided.user = self._access.authenticate(record.headers)
        if decided.user is None:
            return self._outputs(decided, rejected("Unauthorized", "Unauthorized"), now)
        if (asked := impersonation.requested(record.headers)) is not None:
            for attrs in impersonation.checks(asked):
                if refusal := await self._access.check(decided.user, attrs):
                    decided.denied = True
                    return self._outputs(decided, refusal, now)
            decided.impersonator, decided.user = decided.user.name, impersonation.as_user(asked)
        owner = partition_for(request.key, self._settings.partitions)
        if info and (problem := envelope_problem(request, info, record_key=record.key,
                                                 partition=record.partition, owner=owner)):
            return self._outputs(decided, rejected("BadRequest", problem), now)
        try:
            if info is None:  # a question, not a write: nothing is stored
                outcome = await self._question(decided, record, now)
            else:
                outcome = await self._decide(decided, record, now)
            return self._outputs(decided, outcome, now)
        except (KafkaError, OSError):
            raise
        except Exception as exc:  # noqa: BLE001 - a bug must answer, not wedge the partition
            log.exception("request.internal_error", key=request.key, request=request.id,
                          topic=record.topic, partition=record.partition, offset=record.offset)
            failure = rejected("InternalError", f"Internal error occurred: {exc.__class__.__name__}: {exc}")
            return self._outputs(decided, failure, now)

    async def _decide(self, decided: Decided, record: Any, now: datetime) -> Outcome:
        request, user = decided.request, decided.user
        assert user is not None and decided.info is not None
        current = self._current(decided.topic, request.key)
        if refusal := await self._access.authorize(user, request, decided.info, current):
            decided.denied = True
            return refusal
        if request.op is Op.BIND and not await self._views.node_exists(request.node_name or ""):
            return rejected("NotFound", f'nodes "{request.node_name}" not found')
        ctx = Context(now=now, resource_version=_resource_version(request, current, record.offset),
                      new_uid=lambda: str(uuid4()),
                      namespace_phase=await self._namespace_phase(request, current),
                      addresses=self._address_book() if request.kind == "Service" else None,
                      pod_security=await self._pod_security(request),
                      runtime_class=await self._runtime_class(request, current),
                      storage_classes=self._storage_classes(request))
        if decided.topic == self._topics.desired("secrets") and self._secrets.codec is not None:
            return self._decide_secret(request, current, ctx)
        outcome = decide(request, current, ctx)
        log.debug("request.decided", key=request.key, op=request.op, reason=outcome.reason)
        return outcome

    def _decide_secret(self, request: WriteRequest, current: dict[str, Any] | None, ctx: Context) -> Outcome:
        """A Secret decided on its values in clear (validation, merge, "unchanged"), stored encrypted.
        Values come encrypted (from the intake) or sealed for the API's manifest key (from the
        HTTP API, services/apiserver/secrets.py)."""
        try:
            body = self._secrets.open_manifest(request.body, request.namespace or "default") if request.body else None
            plain_request = request.model_copy(update={"body": self._secrets.from_storage(body, stored=False)})
        except SecretValueError as exc:
            return rejected("Invalid", str(exc))
        try:
            plain_current = self._secrets.from_storage(current)
        except SecretValueError as exc:
            return rejected("InternalError", f"Internal error occurred: {exc}")
        outcome = decide(plain_request, plain_current, ctx)
        if outcome.write and outcome.stored is not None:
            outcome = replace(outcome, stored=self._secrets.to_storage(outcome.stored))
        return outcome

    async def _question(self, decided: Decided, record: Any, now: datetime) -> Outcome:
        """A review, a TokenRequest (answered on the partition of its ServiceAccount) or a
        SecretRequest (on the partition of its Secret)."""
        request, user = decided.request, decided.user
        assert user is not None
        if not is_token_request(request) and not is_secret_request(request):
            return review(request, user, self._access.policy, sealing_key=self._secrets.manifest_key)
        answerer = self._tokens if is_token_request(request) else self._secret_reads
        if answerer is None:
            resource = "serviceaccounts/token" if is_token_request(request) else "secrets"
            return rejected("NotFound", f"the server could not find the requested resource ({resource})")
        owner = partition_for(request.key, self._settings.partitions)
        if owner != record.partition:
            return rejected("BadRequest", f"the request for {request.key} belongs on partition {owner} of "
                            f"{record.topic}, not {record.partition}")
        if isinstance(answerer, SecretReads):
            outcome = await answerer.answer(request, user, self._access,
                                            self._current(self._topics.desired("secrets"), request.key))
        else:
            service_account = self._current(self._topics.desired("serviceaccounts"), request.key)
            outcome = await answerer.answer(request, user, self._access, service_account, now)
        decided.denied = outcome.status_reason == "Forbidden"
        return outcome

    def _current(self, topic: str, key: str) -> dict[str, Any] | None:
        if (topic, key) in self._pending:
            written = self._pending[(topic, key)]
            return None if written is None else written[0]
        raw = self._state.get(topic, {}).get(key)
        return None if raw is None else orjson.loads(raw)

    def _address_book(self) -> AddressBook:
        """The Services' addresses in use in this partition (state plus this batch)."""
        topic = self._topics.desired("services")
        keys = set(self._state.get(topic, {})) | {k for (t, k) in self._pending if t == topic}
        services = [self._current(topic, key) for key in keys]
        specs = [s.get("spec") or {} for s in services if s is not None]
        return AddressBook(
            share=Share(self._partition, self._settings.partitions,
                        Ranges(self._settings.service_cidr, self._settings.node_port_range)),
            cluster_ips=frozenset(s["clusterIP"] for s in specs if s.get("clusterIP")),
            node_ports=frozenset(p["nodePort"] for s in specs for p in s.get("ports") or []
                                 if p.get("nodePort")))

    async def _pod_security(self, request: WriteRequest) -> NamespacePolicy | None:
        """The Pod Security levels of the request's namespace, for pods and workloads."""
        if request.kind not in POD_TEMPLATE_KINDS or not request.namespace or request.op not in ADMITTED_OPS:
            return None
        local = self._current(self._topics.desired("namespaces"), request.namespace)
        facts = NamespaceFacts.of(local) if local is not None else await self._views.namespace(request.namespace)
        return namespace_levels(facts.pod_security if facts else {}, self._settings.pod_security_level)

    async def _runtime_class(self, request: WriteRequest, current: dict[str, Any] | None) -> dict[str, Any] | None:
        """The RuntimeClass a created or applied pod names (its body's, else the stored pod's),
        None if absent. Updates and patches are not admitted again (as upstream: create only;
        a controller's finalizer patch must not depend on a class that changed since)."""
        if request.kind != "Pod" or request.op not in CREATING_OPS:
            return None
        body_spec = (request.body or {}).get("spec")
        name = body_spec.get("runtimeClassName") if isinstance(body_spec, dict) else None
        name = name or ((current or {}).get("spec") or {}).get("runtimeClassName")
        if not isinstance(name, str) or not name:
            return None
        local = self._current(self._topics.desired("runtimeclasses"), name)
        return local if local is not None else await self._views.runtime_class(name)

    def _storage_classes(self, request: WriteRequest) -> tuple[dict[str, Any], ...]:
        """Every StorageClass, for a claim's admission (its default class, its expansion)."""
        if request.kind != "PersistentVolumeClaim" or request.op not in ADMITTED_OPS:
            return ()
        return tuple(self._views.storage_classes.values())

    async def _namespace_phase(self, request: WriteRequest, current: Any) -> Any:
        if request.namespace is None or current is not None or request.op not in CREATING_OPS:
            return "Active"
        if request.namespace in BUILTIN_NAMESPACES:
            return "Active"  # ensured by every API instance at start
        local = self._current(self._topics.desired("namespaces"), request.namespace)
        if local is not None:
            return "Terminating" if local["metadata"].get("deletionTimestamp") else "Active"
        return await self._views.namespace_phase(request.namespace)

    def _outputs(self, decided: Decided, outcome: Outcome, now: datetime) -> list[Out]:
        """The desired record, the answer and the audit record; the batch's state changes
        only once all are built, so a failure here leaves nothing half-applied."""
        request, topic = decided.request, decided.topic
        out: list[Out] = []
        value = None
        if outcome.write:
            value, refusal = _encoded(outcome.stored)
            outcome = refusal or outcome
        API_ANSWERS.inc(str(outcome.status_reason or outcome.reason))
        stores = outcome.write and not request.dry_run
        if stores:
            headers = self._trust.sign_desired(topic, request.key, value, _provenance(request, outcome, decided.user))
            out.append(Out(topic, request.key, value, headers=headers))
        out.append(Out(self._topics.audit, request.key, encode(decided.audit(outcome))))
        if not outcome.silent and request.reply:
            out.append(self._answer(request, outcome, now))
        elif outcome.reason == "Rejected":  # a component's write: it sees the outcome in state
            log.info("request.rejected", key=request.key, op=request.op, writer=request.writer,
                     reason=outcome.status_reason, message=outcome.message[:300])
            out += self._failed_create(request, outcome, now)
        if stores:
            self._pending[(topic, request.key)] = None if value is None else (outcome.stored, value)  # type: ignore[assignment]
            if request.kind == "Namespace" and outcome.reason == "Created":
                out.append(self._default_service_account(request.name))
        return out

    def _default_service_account(self, namespace: str) -> Out:
        """A new namespace gets its `default` ServiceAccount (upstream's serviceaccount
        controller): an ENSURE on its own partition, in this transaction."""
        ensure = default_service_account(namespace)
        return Out(self._topics.requests, ensure.key, encode(ensure))

    def _failed_create(self, request: WriteRequest, outcome: Outcome, now: datetime) -> list[Out]:
        """A controller's pod refused (PodSecurity, quota...): an event on its owner, as the
        ReplicaSet controller reports `FailedCreate`, so `describe` shows why no pod came."""
        owner = controller_of(request.body) if request.op is Op.CREATE and request.kind == "Pod" else None
        if owner is None:
            return []
        involved = involved_object(api_version=owner.get("apiVersion"), kind=owner.get("kind"),
                                   name=owner.get("name"), namespace=request.namespace, uid=owner.get("uid"))
        event = make_event(reason="FailedCreate", message=f"Error creating: {outcome.message}", involved=involved,
                           component="api", instance=self._settings.instance, now=now, type_="Warning")
        return [Out(self._topics.events, event_key(involved), orjson.dumps(event))]

    def _answer(self, request: WriteRequest, outcome: Outcome, now: datetime) -> Out:
        meta = (outcome.stored or {}).get("metadata", {})
        involved = involved_object(api_version=request.api_version, kind=request.kind,
                                   name=request.name, namespace=request.namespace,
                                   uid=meta.get("uid"), resource_version=meta.get("resourceVersion"))
        extra = {STATUS_REASON_ANNOTATION: str(outcome.status_reason)} if outcome.status_reason else {}
        extra.update(outcome.details or {})
        if outcome.warnings:
            extra[WARNINGS_ANNOTATION] = orjson.dumps(list(outcome.warnings)).decode()
        if request.dry_run and outcome.stored is not None and outcome.reason != "Rejected":
            extra[DRY_RUN_ANNOTATION] = orjson.dumps(_dry_run_view(request.kind, outcome.stored)).decode()
        event = make_event(reason=outcome.reason, message=outcome.message, involved=involved,
                           component="api", instance=self._settings.instance, now=now,
                           type_="Warning" if outcome.reason == "Rejected" else "Normal",
                           request_id=request.id, source=request.source, extra_annotations=extra)
        return Out(self._topics.events, event_key(involved), orjson.dumps(event))

    def _malformed(self, record: Any, exc: Exception, now: datetime) -> Out:
        API_ANSWERS.inc("BadRequest")
        key = record.key.decode("utf-8", "replace") if record.key else None
        involved = involved_object(api_version=None, kind=None, name=key)
        message = f"malformed write request at {record.topic}/{record.partition}/{record.offset}: {error_text(exc)}"
        event = make_event(reason="Rejected", message=message[:4000], involved=involved,
                           component="api", instance=self._settings.instance, now=now,
                           type_="Warning", extra_annotations={STATUS_REASON_ANNOTATION: "BadRequest"})
        return Out(self._topics.events, event_key(involved), orjson.dumps(event))


def _resource_version(request: WriteRequest, current: dict[str, Any] | None, offset: int) -> str:
    """The resourceVersion a write assigns: its record's offset; a dry run bumps nothing
    (an existing object keeps its own, a new one has none, as upstream answers)."""
    if not request.dry_run:
        return str(offset)
    return str((current or {}).get("metadata", {}).get("resourceVersion") or "")


def _dry_run_view(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    """The would-be object a dry run's answer carries on `kafkube.events`: a new one without
    a resourceVersion, a Secret without its values (not even encrypted)."""
    meta = {k: v for k, v in obj["metadata"].items() if k != "resourceVersion" or v}
    if kind == "Secret":
        annotations = {k: v for k, v in (meta.pop("annotations", None) or {}).items() if k != LAST_APPLIED}
        meta |= {"annotations": annotations} if annotations else {}
        obj = {k: v for k, v in obj.items() if k not in ("data", "stringData")}
    return obj | {"metadata": meta}


def _encoded(stored: dict[str, Any] | None) -> tuple[bytes | None, Outcome | None]:
    """The stored object as its record value, or the refusal of one Kafka cannot hold."""
    try:
        value = encode(stored)
    except TypeError as exc:  # orjson: an integer beyond 64 bits in a field kept unknown
        return None, rejected("Invalid", f"the object cannot be stored as JSON: {exc}")
    if value is not None and len(value) > MAX_REQUEST_BYTES:
        return None, rejected("RequestEntityTooLarge", entity_too_large())
    return value, None


@dataclass(slots=True)
class Decided:
    """One request on its way through the writer: what the audit record will say."""

    request: WriteRequest
    info: KindInfo | None  # None: a review (SelfSubjectReview, SubjectAccessReview)
    topic: str  # the desired topic ("" for a review)
    record: str  # topic/partition/offset of the request record
    user: UserInfo | None = None  # None until authenticated
    denied: bool = False  # refused by authorisation (RBAC, node restriction, escalation)
    impersonator: str = ""  # who sent it, when it is decided as another user (services.api.impersonation)

    def audit(self, outcome: Outcome) -> AuditRecord:
        decision: Decision = ("unauthenticated" if self.user is None else "forbid" if self.denied
                              else "rejected" if outcome.reason == "Rejected" else "allow")
        resource = self.info.plural if self.info else f"{self.request.kind.lower()}s"
        verb = None
        if is_secret_request(self.request):  # audited as what it is: a read of the Secret
            resource, verb = "secrets", "get"
        return audit_record(self.request, resource=resource, user=self.user or ANONYMOUS_USER, verb=verb,
                            decision=decision, reason=outcome.message if outcome.reason == "Rejected" else "",
                            answer=str(outcome.status_reason or outcome.reason), record=self.record,
                            annotations={**({AUDIT_ANNOTATION: outcome.audit} if outcome.audit else {}),
                                         **({impersonation.IMPERSONATED_BY: self.impersonator} if self.impersonator else {})})


def _provenance(request: WriteRequest, outcome: Outcome, user: UserInfo | None) -> tuple[tuple[str, bytes], ...]:
    """Headers of a desired record: who asked for this version (as authenticated), how, and why."""
    principal = user.name if user is not None else request.principal
    return ((PRINCIPAL_HEADER, principal.encode()), (WRITER_HEADER, request.writer.encode()),
            (OP_HEADER, request.op.value.encode()), (REQUEST_ID_HEADER, request.id.encode()),
            ("kafkube.reason", outcome.reason.encode()))


def controller_of(body: dict[str, Any] | None) -> dict[str, Any] | None:
    """The controller ownerReference of an object's body, if it has one."""
    refs = ((body or {}).get("metadata") or {}).get("ownerReferences") or []
    return next((r for r in refs if isinstance(r, dict) and r.get("controller")), None)
