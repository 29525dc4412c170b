"""The API answers the ingress controller's SecretRequest only for a TLS Secret named by
an Ingress it serves (services/api/ingress_tls.py, services/api/secret_reads.py), after
RBAC; other users are not affected."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from schemas.auth import INGRESS_USER, UserInfo
from services.api.decide import Outcome
from services.api.ingress_tls import names_secret
from services.api.rbac import Attributes
from services.api.secret_reads import SecretReads
from services.runtime.sealing import Recipient
from services.runtime.secret_requests import answer_data, secret_request
from tests.unit.api.test_secret_reads import STORAGE
from tests.unit.api.test_service_accounts import RING, Existing

CLASSES: dict[str, Any] = {"kafkube": {"metadata": {"name": "kafkube"}, "spec": {"controller": "kafkube.io/ingress"}},
           "nginx": {"metadata": {"name": "nginx", "annotations": {
               "ingressclass.kubernetes.io/is-default-class": "true"}}, "spec": {"controller": "k8s.io/nginx"}}}


def ing(class_name: str | None, secret: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"tls": [{"hosts": ["a.example.com"], "secretName": secret}]}
    return {"spec": {**spec, "ingressClassName": class_name} if class_name else spec}


INGRESSES = {"team-a/ours": ing("kafkube", "tls-a"), "team-a/theirs": ing("nginx", "tls-n"),
             "team-a/default": ing(None, "tls-d"), "team-b/ours": ing("kafkube", "tls-b")}


def test_names_secret_only_for_ingresses_of_our_class_in_the_same_namespace() -> None:
    assert names_secret(INGRESSES, CLASSES, "team-a", "tls-a")
    assert not names_secret(INGRESSES, CLASSES, "team-a", "tls-n")  # another controller's Ingress
    assert not names_secret(INGRESSES, CLASSES, "team-a", "tls-d")  # the default class is nginx's
    assert not names_secret(INGRESSES, CLASSES, "team-a", "tls-b")  # named in another namespace
    ours_default: dict[str, Any] = {**CLASSES, "kafkube": {**CLASSES["kafkube"], "metadata": {"name": "kafkube", "annotations": {
        "ingressclass.kubernetes.io/is-default-class": "true"}}}}
    assert names_secret(INGRESSES, ours_default, "team-a", "tls-d")


class Named:
    async def names_secret(self, namespace: str, name: str) -> bool:
        return names_secret(INGRESSES, CLASSES, namespace, name)


class Allow:
    async def check(self, user: UserInfo, attrs: Attributes) -> Outcome | None:
        assert (attrs.verb, attrs.resource) == ("get", "secrets")
        return None


def ask(user: str, name: str) -> tuple[Outcome, Any]:
    body = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": name, "namespace": "team-a", "resourceVersion": "7"},
            "data": {"tls.crt": base64.b64encode(b"CERT").decode(), "tls.key": base64.b64encode(b"KEY").decode()}}
    recipient = Recipient()
    request = secret_request("team-a", name, writer="ingress", principal=user, recipient=recipient)
    reads = SecretReads(STORAGE, Existing(), RING, Named())
    outcome = asyncio.run(reads.answer(request, UserInfo(username=user), Allow(), STORAGE.to_storage(body)))
    return outcome, (request, recipient)


def test_the_ingress_identity_reads_only_the_tls_secrets_of_its_ingresses() -> None:
    allowed, (request, recipient) = ask(INGRESS_USER, "tls-a")
    assert allowed.reason == "Reviewed", allowed.message
    event = {"reason": "Reviewed", "metadata": {"annotations": allowed.details}}
    assert base64.b64decode(answer_data(event, request, recipient=recipient)["tls.key"]) == b"KEY"
    refused, _ = ask(INGRESS_USER, "tls-n")
    assert (refused.reason, refused.status_reason) == ("Rejected", "Forbidden")
    assert refused.message == ('secrets "tls-n" is forbidden: User "system:kafkube-ingress" cannot get resource '
                               '"secrets" in API group "" in the namespace "team-a": no Ingress of the '
                               'kafkube.io/ingress controller names this Secret in spec.tls')
    other, _ = ask("jane", "tls-n")  # the rule narrows the controller only
    assert other.reason == "Reviewed"
