"""ServiceAccount tokens: issuing and verifying (signature, expiry, audience, the
ServiceAccount and bound pod still there), the TokenRequest through the real writer
(RBAC, NodeRestriction, registry checks, the sealed answer), the default ServiceAccount
of a new namespace, and the sealing schemes' round trips."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import pytest

from schemas.auth import TOKEN_HEADER
from schemas.records import Op, WriteRequest
from schemas.tokens import RECIPIENT_ANNOTATION, sealing_context
from services.api.access import AccessControl
from services.api.authn import Authenticator, parse_token_file
from schemas.records import REVIEW_ANNOTATION
from services.api.sa_index import PodFacts, ServiceAccountIndex, pod_facts
from services.api.sa_tokens import (ISSUER, Binding, KeyFileError, ServiceAccountVerifier, SigningKey, TokenIssuer,
                                    parse_key_file, sign)
from services.api.service import bootstrap_writes
from services.api.service_accounts import TokenRequests, default_service_account
from services.api.writer import RequestPartition
from services.runtime.bus import encode, partition_for
from services.runtime.config import Settings
from services.runtime.sealing import (Recipient, SealError, Sealed, node_key_from_masters, open_for_node,
                                      own_node_key, seal_for_node, seal_for_recipient)
from services.runtime.signing import KeyRing
from services.runtime.topics import Topics
from services.runtime.transactional import Out
from services.runtime.trust import BusTrust
from tests.unit.api.test_access import StaticPolicy
from tests.unit.api.test_poison import FakeRecord, InMemoryViews

SETTINGS = Settings(bootstrap_servers="unused:9092", partitions=3, instance="test")
TOPICS = Topics()
RING = KeyRing.generate()
TRUST = BusTrust(TOPICS.prefix, RING)
KEY = SigningKey.of(b"k" * 32)
OTHER_KEY = SigningKey.of(b"o" * 32)
USERS = parse_token_file("\n".join(["t-admin,admin,1,system:masters", "t-alice,alice,2",
                                    "t-n1,system:node:n1,4,system:nodes"]))
NOW = 1_800_000_000.0
BOUND = Binding("team-a", "default", "sa-uid", pod="web", pod_uid="pod-uid", node="n1")


class Existing:
    """What the API's index holds, as a test sets it."""

    def __init__(self) -> None:
        self.service_accounts = {("team-a", "default"): "sa-uid"}
        self.pods = {("team-a", "web"): PodFacts("pod-uid", "n1", "default"),
                     ("team-a", "other"): PodFacts("other-uid", "n2", "default"),
                     ("team-a", "robot-pod"): PodFacts("robot-uid", "n1", "robot")}

    def service_account_uid(self, namespace: str, name: str) -> str | None:
        return self.service_accounts.get((namespace, name))

    def pod(self, namespace: str, name: str) -> PodFacts | None:
        return self.pods.get((namespace, name))

    async def lookup_pod(self, namespace: str, name: str, uid: str = "", node: str = "") -> PodFacts | None:
        return self.pod(namespace, name)


def verifier(existing: Existing, *, now: float = NOW, keys: tuple[SigningKey, ...] = (KEY,)) -> ServiceAccountVerifier:
    return ServiceAccountVerifier(TokenIssuer(keys), existing, clock=lambda: now)


def issued(binding: Binding = BOUND, *, key: SigningKey = KEY, audiences: tuple[str, ...] = (ISSUER,),
           lifetime_s: int = 3600) -> str:
    token, _ = TokenIssuer([key]).issue(binding, audiences=audiences, now=NOW, lifetime_s=lifetime_s)
    return token


# -- issuing and verifying ---------------------------------------------------------------------
def test_a_valid_token_is_its_service_account_with_upstreams_claims_and_groups() -> None:
    token = issued()
    user = verifier(Existing())(token)
    assert user is not None and user.name == "system:serviceaccount:team-a:default" and user.uid == "sa-uid"
    assert user.groups == ("system:serviceaccounts", "system:serviceaccounts:team-a", "system:authenticated")
    claims = TokenIssuer([KEY]).verify(token, now=NOW)
    assert claims is not None
    payload = claims.to_json()
    assert payload["iss"] == ISSUER and payload["sub"] == "system:serviceaccount:team-a:default"
    assert payload["aud"] == [ISSUER] and payload["exp"] - payload["iat"] == 3600 and payload["nbf"] == payload["iat"]
    assert payload["kubernetes.io"] == {"namespace": "team-a", "serviceaccount": {"name": "default", "uid": "sa-uid"},
                                        "pod": {"name": "web", "uid": "pod-uid"}, "node": {"name": "n1"}}


def test_an_expired_token_is_refused() -> None:
    token = issued(lifetime_s=600)
    assert verifier(Existing(), now=NOW + 599)(token) is not None
    assert verifier(Existing(), now=NOW + 600)(token) is None


def test_a_token_not_yet_valid_is_refused_beyond_the_leeway() -> None:
    assert verifier(Existing(), now=NOW - 30)(issued()) is not None
    assert verifier(Existing(), now=NOW - 120)(issued()) is None


def test_a_wrong_signature_is_refused_and_a_second_key_verifies() -> None:
    assert verifier(Existing())(issued(key=OTHER_KEY)) is None
    assert verifier(Existing(), keys=(KEY, OTHER_KEY))(issued(key=OTHER_KEY)) is not None
    head, body, _sig = issued().split(".")
    assert verifier(Existing())(f"{head}.{body}.{_sig[::-1]}") is None
    tampered = issued().split(".")
    claims = orjson.loads(__import__("base64").urlsafe_b64decode(tampered[1] + "=="))
    claims["sub"] = "system:serviceaccount:kube-system:default"
    forged = sign(OTHER_KEY, claims).split(".")
    assert verifier(Existing())(".".join([tampered[0], forged[1], tampered[2]])) is None


def test_alg_none_and_garbage_are_refused() -> None:
    import base64

    def b64(d: Any) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(d)).rstrip(b"=").decode()

    payload = TokenIssuer([KEY]).verify(issued(), now=NOW).to_json()  # type: ignore[union-attr]
    assert verifier(Existing())(f"{b64({'alg': 'none'})}.{b64(payload)}.") is None
    for junk in ("", "a.b.c", "....", "not-a-jwt", "é.é.é"):
        assert verifier(Existing())(junk) is None


def test_a_token_for_another_audience_is_refused() -> None:
    assert verifier(Existing())(issued(audiences=("vault",))) is None
    assert verifier(Existing())(issued(audiences=("vault", ISSUER))) is not None


def test_a_deleted_or_recreated_service_account_invalidates_its_tokens() -> None:
    existing = Existing()
    token = issued()
    del existing.service_accounts[("team-a", "default")]
    assert verifier(existing)(token) is None
    existing.service_accounts[("team-a", "default")] = "another-uid"  # deleted and created again
    assert verifier(existing)(token) is None


def test_a_deleted_or_replaced_pod_invalidates_its_tokens() -> None:
    existing = Existing()
    token = issued()
    existing.pods[("team-a", "web")] = PodFacts("new-uid", "n1", "default")
    assert verifier(existing)(token) is None
    del existing.pods[("team-a", "web")]
    assert verifier(existing)(token) is None
    existing.pods[("team-a", "web")] = PodFacts("pod-uid", "n1", "default", deleting_since=NOW - 10)
    assert verifier(existing)(token) is not None  # deleting, within the grace
    existing.pods[("team-a", "web")] = PodFacts("pod-uid", "n1", "default", deleting_since=NOW - 61)
    assert verifier(existing)(token) is None


def test_an_unbound_token_needs_only_its_service_account() -> None:
    token = issued(Binding("team-a", "default", "sa-uid"))
    assert verifier(Existing())(token) is not None


def test_the_authenticator_tries_static_tokens_then_service_account_tokens() -> None:
    authn = Authenticator(USERS, (verifier(Existing()),))
    assert authn.authenticate("t-alice").name == "alice"  # type: ignore[union-attr]
    assert authn.authenticate(issued()).name == "system:serviceaccount:team-a:default"  # type: ignore[union-attr]
    assert authn.authenticate(issued(key=OTHER_KEY)) is None


def test_the_key_file() -> None:
    keys = parse_key_file(f"# comment\n{'ab' * 32}\n\n{'cd' * 40}\n")
    assert [k.secret for k in keys] == [bytes.fromhex("ab" * 32), bytes.fromhex("cd" * 40)]
    for bad, problem in (("zz", "hex"), ("ab" * 16, "32 bytes"), ("# only\n", "no key")):
        with pytest.raises(KeyFileError, match=problem):
            parse_key_file(bad)


def test_pod_facts() -> None:
    facts = pod_facts({"metadata": {"uid": "u", "deletionTimestamp": "2027-01-15T08:00:00Z"},
                       "spec": {"nodeName": "n1"}})
    assert facts.uid == "u" and facts.node == "n1" and facts.service_account == "default"
    since = facts.deleting_since
    assert since is not None and facts.deleted_before(since + 1) and not facts.deleted_before(since)


# -- sealing -------------------------------------------------------------------------------------
def test_node_sealing_round_trip_and_what_does_not_open() -> None:
    context = sealing_context("rid", "team-a", "default", "pod-uid")
    api_side = node_key_from_masters(RING, "n1")
    kubelet_ring = RING.for_writer("system:node:n1")  # what `kafkube keys init --node n1` gives the node
    node_side = own_node_key(kubelet_ring, "n1")
    assert api_side is not None and node_side == api_side
    sealed = Sealed.of(orjson.loads(orjson.dumps(seal_for_node(api_side, b"the-token", context).to_json())))
    assert b"the-token" not in orjson.dumps(sealed.to_json())
    assert open_for_node(node_side, sealed, context) == b"the-token"
    other = node_key_from_masters(RING, "n2")
    assert other is not None
    for key, ctx in ((other, context), (node_side, sealing_context("other-request", "team-a", "default", "pod-uid"))):
        with pytest.raises(SealError):
            open_for_node(key, sealed, ctx)
    flipped = Sealed(sealed.scheme, sealed.nonce, bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:],
                     sealed.key_id)
    with pytest.raises(SealError):
        open_for_node(node_side, flipped, context)


def test_x25519_sealing_round_trip() -> None:
    recipient, stranger = Recipient(), Recipient()
    sealed = seal_for_recipient(recipient.public_b64, b"the-token", b"ctx")
    assert recipient.open(sealed, b"ctx") == b"the-token"
    with pytest.raises(SealError):
        stranger.open(sealed, b"ctx")
    with pytest.raises(SealError):
        recipient.open(sealed, b"other")
    with pytest.raises(SealError):
        seal_for_recipient("not-a-key", b"x", b"ctx")


# -- TokenRequest through the writer ---------------------------------------------------------------
def token_request(*, namespace: str = "team-a", name: str = "default", pod: str | None = "web",
                  uid: str | None = "pod-uid", annotations: dict[str, str] | None = None,
                  spec: dict[str, Any] | None = None) -> WriteRequest:
    ref = {"apiVersion": "v1", "kind": "Pod", "name": pod, **({"uid": uid} if uid else {})} if pod else None
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "metadata": {"name": name, "namespace": namespace, "annotations": annotations or {}},
            "spec": spec if spec is not None else ({"boundObjectRef": ref} if ref else {})}
    return WriteRequest(op=Op.CREATE, apiVersion="authentication.k8s.io/v1", kind="TokenRequest",
                        namespace=namespace, name=name, body=body)


SERVICE_ACCOUNT: dict[str, Any] = {"apiVersion": "v1", "kind": "ServiceAccount",
                   "metadata": {"name": "default", "namespace": "team-a", "uid": "sa-uid"}}


def ask(request: WriteRequest, token: str | None, *, issuer: TokenIssuer | None = TokenIssuer([KEY]),
        service_accounts: list[dict[str, Any]] = [SERVICE_ACCOUNT], partition: int | None = None  # noqa: B006
        ) -> tuple[list[Out], dict[str, Any]]:
    """The writer's outputs for one request, and its answer event."""
    bootstrap = {(r.kind, r.key): r.body or {} for r in bootstrap_writes()}
    existing = Existing()
    access = AccessControl(Authenticator(USERS, (verifier(existing),)), StaticPolicy(), bootstrap=bootstrap)
    part = partition_for(request.key, SETTINGS.partitions) if partition is None else partition
    writer = RequestPartition(SETTINGS, TOPICS, InMemoryViews({"n1", "n2"}), access, part,  # type: ignore[arg-type]
                              trust=TRUST, tokens=TokenRequests(issuer, existing, RING))
    writer._state = {TOPICS.desired("serviceaccounts"): {
        f"{sa['metadata']['namespace']}/{sa['metadata']['name']}": orjson.dumps(sa) for sa in service_accounts}}
    headers = [(TOKEN_HEADER, token.encode())] if token else []
    out = asyncio.run(writer.process([FakeRecord(encode(request), request.key.encode(), part, 7, headers=headers)]))
    (event,) = [orjson.loads(o.value) for o in out if o.topic == TOPICS.events and o.value]
    return out, event


def answer(event: dict[str, Any]) -> tuple[str, str, str | None]:
    annotations = event["metadata"]["annotations"]
    return event["reason"], event["message"], annotations.get("kafkube.io/status-reason")


def test_a_node_gets_a_token_for_its_pod_sealed_with_its_own_key() -> None:
    request = token_request()
    out, event = ask(request, "t-n1")
    assert event["reason"] == "Created", event["message"]
    status = orjson.loads(event["metadata"]["annotations"][REVIEW_ANNOTATION])["status"]
    assert status["sealed"]["scheme"] == "node-v1" and status["expirationTimestamp"].endswith("Z")
    node_key = own_node_key(RING.for_writer("system:node:n1"), "n1")
    assert node_key is not None
    token = open_for_node(node_key, Sealed.of(status["sealed"]), sealing_context(request.id, "team-a", "default",
                                                                                  "pod-uid")).decode()
    assert all(token.encode() not in (o.value or b"") for o in out)  # in clear nowhere: events, audit
    claims = TokenIssuer([KEY]).verify(token, now=time.time())
    assert claims is not None and claims.binding == BOUND
    assert [o for o in out if o.topic.startswith(TOPICS.desired(""))] == []  # nothing stored
    user = verifier(Existing(), now=time.time())(token)
    assert user is not None and user.name == "system:serviceaccount:team-a:default"


@pytest.mark.parametrize(("request_", "message"), [
    (token_request(pod=None), 'serviceaccounts "default" is forbidden: node requested token not bound to a pod'),
    (token_request(uid=None),
     'serviceaccounts "default" is forbidden: node requested token with a pod binding without a uid'),
    (token_request(pod="other", uid="other-uid"), 'serviceaccounts "default" is forbidden: node requested token '
     "bound to a pod scheduled on a different node"),
    (token_request(uid="stale-uid"), 'serviceaccounts "default" is forbidden: the UID in the bound object reference '
     "(stale-uid) does not match the UID in record. The object might have been deleted and then recreated"),
])
def test_node_restriction(request_: WriteRequest, message: str) -> None:
    _out, event = ask(request_, "t-n1")
    assert answer(event) == ("Rejected", message, "Forbidden")


def test_registry_checks() -> None:
    _, event = ask(token_request(), "t-n1", service_accounts=[])
    assert answer(event) == ("Rejected", 'serviceaccounts "default" not found', "NotFound")
    _, event = ask(token_request(pod="gone", uid="x"), "t-admin", service_accounts=[SERVICE_ACCOUNT])
    assert answer(event) == ("Rejected", 'pods "gone" not found', "NotFound")
    _, event = ask(token_request(pod="robot-pod", uid="robot-uid"), "t-n1")  # the pod runs as "robot"
    assert answer(event)[0] == "Rejected" and "different serviceaccount name" in answer(event)[1]
    _, event = ask(token_request(spec={"expirationSeconds": 60}), "t-admin")
    assert answer(event) == ("Rejected", 'TokenRequest.authentication.k8s.io "default" is invalid: '
                             "spec.expirationSeconds: Invalid value: 60: may not specify a duration less than "
                             "10 minutes", "Invalid")


def test_rbac_decides_who_may_ask() -> None:
    _, event = ask(token_request(), "t-alice")
    reason, message, status = answer(event)
    assert (reason, status) == ("Rejected", "Forbidden")
    assert message.startswith('serviceaccounts "default" is forbidden: User "alice" cannot create resource '
                              '"serviceaccounts/token" in API group "" in the namespace "team-a"')


def test_other_users_need_a_recipient_key() -> None:
    _, event = ask(token_request(pod=None), "t-admin")
    assert answer(event)[0] == "Rejected" and RECIPIENT_ANNOTATION in answer(event)[1]
    recipient = Recipient()
    request = token_request(pod=None, annotations={RECIPIENT_ANNOTATION: recipient.public_b64})
    _, event = ask(request, "t-admin")
    assert event["reason"] == "Created"
    status = orjson.loads(event["metadata"]["annotations"][REVIEW_ANNOTATION])["status"]
    token = recipient.open(Sealed.of(status["sealed"]), sealing_context(request.id, "team-a", "default", "")).decode()
    assert verifier(Existing(), now=time.time())(token) is not None


def test_without_a_signing_key_no_token_is_issued() -> None:
    _, event = ask(token_request(), "t-n1", issuer=None)
    reason, message, status = answer(event)
    assert (reason, status) == ("Rejected", "NotFound") and "KAFKUBE_SERVICE_ACCOUNT_KEY_FILE" in message


def test_a_token_request_on_the_wrong_partition_is_refused() -> None:
    request = token_request()
    wrong = (partition_for(request.key, SETTINGS.partitions) + 1) % SETTINGS.partitions
    _, event = ask(request, "t-n1", partition=wrong)
    assert answer(event)[2] == "BadRequest"


# -- the default ServiceAccount -----------------------------------------------------------------------
def test_a_new_namespace_asks_for_its_default_service_account_which_needs_no_token() -> None:
    namespace = WriteRequest(op=Op.CREATE, apiVersion="v1", kind="Namespace", name="team-b",
                             body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-b"}})
    out, event = ask(namespace, "t-admin")
    assert event["reason"] == "Created"
    (ensure_out,) = [o for o in out if o.topic == TOPICS.requests]
    ensure = WriteRequest.model_validate_json(ensure_out.value or b"")
    assert ensure_out.key == "team-b/default" and ensure.op is Op.ENSURE and ensure.kind == "ServiceAccount"
    assert ensure.body == default_service_account("team-b").body and ensure_out.headers == ()
    ensure = default_service_account("team-a")  # an Active namespace of the test's views
    out, _ = ask_silent(ensure)
    (stored,) = [o for o in out if o.topic == TOPICS.desired("serviceaccounts")]
    assert orjson.loads(stored.value or b"")["metadata"]["name"] == "default"
    changed = ensure.model_copy(update={"body": {**(ensure.body or {}), "automountServiceAccountToken": False}})
    out, _ = ask_silent(changed)
    assert [o for o in out if o.topic == TOPICS.desired("serviceaccounts")] == []  # anonymous: only the exact one


def ask_silent(request: WriteRequest) -> tuple[list[Out], None]:
    bootstrap = {(r.kind, r.key): r.body or {} for r in bootstrap_writes()}
    access = AccessControl(Authenticator(USERS), StaticPolicy(), bootstrap=bootstrap)
    part = partition_for(request.key, SETTINGS.partitions)
    writer = RequestPartition(SETTINGS, TOPICS, InMemoryViews(), access, part, trust=TRUST)  # type: ignore[arg-type]
    writer._state = {}
    return asyncio.run(writer.process([FakeRecord(encode(request), request.key.encode(), part, 3, headers=[])])), None


def test_built_in_namespaces_get_their_default_service_account_at_bootstrap() -> None:
    ensured = {(r.kind, r.key) for r in bootstrap_writes()}
    assert {("ServiceAccount", f"{n}/default") for n in ("default", "kube-system", "kube-public",
                                                          "kube-node-lease")} <= ensured


class LaggingView:
    """The index's informer: what it has applied, and what a barrier brings."""

    def __init__(self, now: dict[str, bytes], committed: dict[str, bytes]) -> None:
        self.items, self.committed, self.barriers = now, committed, 0

    def get(self, topic: str, key: str) -> bytes | None:
        return self.items.get(key)

    async def barrier(self) -> None:
        self.barriers += 1
        self.items = self.committed


def _pod_on(node: str) -> bytes:
    return orjson.dumps({"metadata": {"name": "web", "namespace": "team-a", "uid": "pod-uid"},
                         "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i"}]}})


def test_a_node_asking_for_its_pod_reads_past_a_bind_its_view_has_not_applied() -> None:
    """The kubelet asks for the token of a pod it was bound; the API's index may have seen the
    pod's create but not its bind: a node's lookup of a pod not (yet) on it reads to the end
    first, instead of answering Forbidden and leaving the pod to the next resync."""
    index = ServiceAccountIndex(SETTINGS, TOPICS)
    view = LaggingView({"team-a/web": _pod_on("")}, {"team-a/web": _pod_on("n1")})
    index._informer = view  # type: ignore[assignment]
    found = asyncio.run(index.lookup_pod("team-a", "web", "pod-uid", "n1"))
    assert found is not None and found.node == "n1" and view.barriers == 1
    assert asyncio.run(index.lookup_pod("team-a", "web", "pod-uid", "n1")) == found and view.barriers == 1
    other = asyncio.run(index.lookup_pod("team-a", "web", "pod-uid", "n2"))  # on n1 after the barrier too
    assert other is not None and other.node == "n1" and view.barriers == 2
    assert asyncio.run(index.lookup_pod("team-a", "web", "pod-uid")) == found and view.barriers == 2
