"""Kafka's own access control, seen from Kafkube (docs/kafka-acls.md).

- `client_options(settings)`: the keyword arguments every AIOKafkaProducer, Consumer and
  AdminClient Kafkube creates gets (bootstrap servers and, on a secure broker, SASL).
- `PRINCIPALS` and `acl_commands(prefix)`: one Kafka principal per component and the ACLs
  each gets on a broker run with `StandardAuthorizer` and no access by default, as the
  argument lists of Kafka's `kafka-acls` tool (`org.apache.kafka.tools.AclCommand`).
  `python -m services.runtime.kafka_auth acl-commands PREFIX` prints them one invocation
  a line, for scripts/kafka.sh and the compose `acls` step.
"""

from __future__ import annotations

import ssl
import sys
from dataclasses import dataclass
from typing import Any

from services.runtime.config import Settings

SECURITY_PROTOCOLS = ("PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL")
DEFAULT_SASL_MECHANISM = "SCRAM-SHA-512"

# One principal per component. Kubelets share one: Kafka authorises per topic, not per
# record key, so a per-node principal could still write every node's pod statuses on
# observed.pods; which node wrote a status is proven by the node's signing key instead.
API, APISERVER, SCHEDULER, CONTROLLERS, ENDPOINTS, PROXY, KUBELET, USER = (
    "kafkube-api", "kafkube-apiserver", "kafkube-scheduler", "kafkube-controllers", "kafkube-endpoints",
    "kafkube-proxy", "kafkube-kubelet", "kafkube-user")
INGRESS = "kafkube-ingress"
DASHBOARD = "kafkube-dashboard"
PRINCIPALS = (API, APISERVER, SCHEDULER, CONTROLLERS, ENDPOINTS, PROXY, KUBELET, USER, INGRESS, DASHBOARD)
BROKER = "kafkube-broker"  # the broker's own (inter-broker) user: a super user

# Consumer groups (under the topic prefix), as the services name them:
# services/api/service.py, scheduler/ownership.py, controllers/*, endpoints/service.py.
API_GROUPS = "api-"  # prefixed: api-intake, api-writer (and their transactional ids)
API_WRITER_GROUP = "api-writer"  # the takeover fence reads its committed offsets
SCHEDULER_GROUPS = ("scheduler",)
CONTROLLER_GROUPS = ("replicaset-controller", "replication-controller", "deployment-controller", "node-controller",
                     "namespace-controller", "garbage-collector", "horizontal-pod-autoscaler",
                     "job-controller", "cronjob-controller", "daemonset-controller", "statefulset-controller",
                     "persistent-volume-binder")
ENDPOINTS_GROUPS = ("endpoints-controller",)
# The state topics the ingress controller's informer follows (services/ingress/service.py).
INGRESS_READS = ("desired.ingresses", "desired.ingressclasses", "desired.services", "desired.secrets",
                 "desired.endpoints", "observed.endpoints", "observed.ingresses")


class KafkaAuthError(ValueError):
    """The Kafka security settings cannot be used (the message names the variable)."""


def client_options(settings: Settings) -> dict[str, Any]:
    """bootstrap_servers and the security options of aiokafka's clients."""
    options: dict[str, Any] = {"bootstrap_servers": settings.bootstrap_servers}
    protocol = settings.security_protocol
    if protocol == "PLAINTEXT":
        return options
    if not settings.kafka_username or not settings.kafka_password:
        raise KafkaAuthError(f"KAFKUBE_KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKUBE_KAFKA_USERNAME and "
                             "KAFKUBE_KAFKA_PASSWORD (or KAFKUBE_KAFKA_PASSWORD_FILE)")
    options.update(security_protocol=protocol, sasl_mechanism=settings.sasl_mechanism or DEFAULT_SASL_MECHANISM,
                   sasl_plain_username=settings.kafka_username, sasl_plain_password=settings.kafka_password)
    if protocol == "SASL_SSL":
        options["ssl_context"] = ssl.create_default_context(cafile=settings.kafka_ca_file)
    return options


@dataclass(frozen=True)
class Acl:
    """ALLOW `operations` on the named resources to `principals` (one kafka-acls call)."""

    principals: tuple[str, ...]
    operations: tuple[str, ...]
    resource: str  # topic | group | transactional-id | cluster
    names: tuple[str, ...] = ()
    prefixed: bool = False

    def args(self) -> list[str]:
        out = ["--add"]
        for p in self.principals:
            out += ["--allow-principal", f"User:{p}"]
        for op in self.operations:
            out += ["--operation", op]
        if self.resource == "cluster":
            return out + ["--cluster"]
        for name in self.names:
            out += [f"--{self.resource}", name]
        return out + ["--resource-pattern-type", "prefixed" if self.prefixed else "literal"]


def acls(prefix: str, plurals: tuple[str, ...] | None = None) -> list[Acl]:
    """The ACL table of docs/kafka-acls.md for topics under `prefix`."""
    if plurals is None:
        from schemas.registry import ALL_KINDS

        plurals = tuple(k.plural for k in ALL_KINDS)
    p = prefix
    components = (SCHEDULER, CONTROLLERS, ENDPOINTS, PROXY, KUBELET)
    controller_observed = tuple(f"{p}observed.{x}" for x in plurals if x not in ("pods", "ingresses"))
    return [
        # Everyone: topic metadata and configs (serve checks the topics at start, the
        # fence reads end offsets), and idempotent producers.
        Acl(PRINCIPALS, ("Describe", "DescribeConfigs"), "topic", (p,), prefixed=True),
        Acl(PRINCIPALS, ("IdempotentWrite",), "cluster"),
        # The API: reads every Kafkube topic, is the only writer of desired state and the
        # audit log, creates the topics, runs transactions under its own ids.
        Acl((API,), ("Read",), "topic", (p,), prefixed=True),
        Acl((API,), ("Create",), "topic", (p,), prefixed=True),
        Acl((API,), ("Write",), "topic", (f"{p}desired.",), prefixed=True),
        Acl((API,), ("Write",), "topic", (f"{p}audit", f"{p}events", f"{p}requests")),
        Acl((API,), ("Read",), "group", (f"{p}{API_GROUPS}",), prefixed=True),
        Acl((API,), ("Write", "Describe"), "transactional-id", (f"{p}{API_GROUPS}",), prefixed=True),
        # Components and users read state; components and users never read manifests or
        # requests (they carry their authors' bearer tokens) nor the audit log.
        # The HTTP API (`serve apiserver`) reads as users do and writes requests (and its audit).
        Acl((*components, APISERVER, USER), ("Read",), "topic", (f"{p}desired.", f"{p}observed."), prefixed=True),
        Acl((KUBELET, APISERVER, USER), ("Read",), "topic", (f"{p}logs",)),
        # resource metrics: kubelets write them; `kafkube top`, the HTTP API's metrics.k8s.io and
        # the horizontal pod autoscaler (controllers) read them
        Acl((CONTROLLERS, APISERVER, USER), ("Read",), "topic", (f"{p}metrics",)),
        # events: users and the HTTP API (answers); kubelets (the answers to their pods'
        # TokenRequests)
        Acl((KUBELET, APISERVER, USER), ("Read",), "topic", (f"{p}events",)),
        # the ingress controller: reads the topics of its informer (services/ingress/service.py;
        # the TLS Secrets' values it asks of the API and reads the answer on events), writes
        # requests (those questions) and its Ingresses' status
        Acl((INGRESS,), ("Read",), "topic", (*(f"{p}{t}" for t in INGRESS_READS), f"{p}events")),
        Acl((INGRESS,), ("Write",), "topic", (f"{p}requests", f"{p}observed.ingresses")),
        # the dashboard: reads state, events and logs as users do; writes requests (its
        # users' actions, each with the user's token)
        Acl((DASHBOARD,), ("Read",), "topic", (f"{p}desired.", f"{p}observed."), prefixed=True),
        Acl((DASHBOARD,), ("Read",), "topic", (f"{p}events", f"{p}logs")),
        Acl((DASHBOARD,), ("Write",), "topic", (f"{p}requests",)),
        # Writes: requests (the API authorises each by its token) and events by everyone
        # but users and the HTTP API; users write manifests and requests only.
        Acl((*components, APISERVER, USER), ("Write",), "topic", (f"{p}requests",)),
        Acl(components, ("Write",), "topic", (f"{p}events",)),
        # the HTTP API audits what it decides itself (reads, streams, refusals at its door)
        Acl((APISERVER,), ("Write",), "topic", (f"{p}audit",)),
        Acl((USER,), ("Write",), "topic", (f"{p}manifests",)),
        Acl((KUBELET,), ("Write",), "topic", (f"{p}observed.pods", f"{p}observed.nodes", f"{p}logs", f"{p}metrics")),
        Acl((SCHEDULER,), ("Write",), "topic", (f"{p}observed.pods",)),
        Acl((CONTROLLERS, ENDPOINTS), ("Write",), "topic", controller_observed),
        # Consumer groups: each component its own (joining another's would stall it).
        Acl((SCHEDULER,), ("Read",), "group", tuple(f"{p}{g}" for g in SCHEDULER_GROUPS)),
        Acl((CONTROLLERS,), ("Read",), "group", tuple(f"{p}{g}" for g in CONTROLLER_GROUPS)),
        Acl((ENDPOINTS,), ("Read",), "group", tuple(f"{p}{g}" for g in ENDPOINTS_GROUPS)),
        Acl((SCHEDULER, CONTROLLERS), ("Describe",), "group", (f"{p}{API_WRITER_GROUP}",)),
    ]


def acl_commands(prefix: str) -> list[list[str]]:
    return [acl.args() for acl in acls(prefix)]


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "acl-commands":
        print("usage: python -m services.runtime.kafka_auth acl-commands PREFIX", file=sys.stderr)
        return 2
    for args in acl_commands(argv[1]):
        print(" ".join(args))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
