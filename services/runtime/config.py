"""Process settings, read once from the environment by each entry point."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """Where Kafka is and how Kafkube's topics are named and sized."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bootstrap_servers: str = "localhost:9092"
    topic_prefix: str = "kafkube."
    partitions: int = Field(default=6, ge=1, le=1024)
    replication_factor: int = Field(default=1, ge=1)
    connect_timeout_s: float = Field(default=30.0, gt=0)
    instance: str = Field(default_factory=socket.gethostname)
    history_s: float = Field(default=86_400, ge=0)  # desired versions compaction spares
    service_cidr: str = "10.96.0.0/16"
    node_port_range: tuple[int, int] = (30000, 32767)
    bus_keys_file: str | None = None  # this process's record-signing keys (services/runtime/buskeys.py)
    insecure_bus: bool = False  # no keys: neither sign nor verify state records (development only)
    token: str | None = Field(default=None, repr=False)  # this process's bearer token
    token_auth_file: str | None = None  # the API's static tokens (kube-apiserver's CSV)
    node_token_dir: str | None = None  # kubelets: node-<name>.token per node they run
    pod_security_level: Literal["privileged", "baseline", "restricted"] = "baseline"  # namespaces without labels
    # Kafka's own authentication (services/runtime/kafka_auth.py, docs/kafka-acls.md)
    security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: str | None = None  # SCRAM-SHA-512 when SASL and unset
    kafka_username: str | None = None
    kafka_password: str | None = Field(default=None, repr=False)
    kafka_ca_file: str | None = None  # SASL_SSL: the CA bundle (default: the system's)
    service_account_key_file: str | None = None  # the API's ServiceAccount token keys (services/api/sa_tokens.py)
    encryption_config: str | None = None  # the API's EncryptionConfiguration for Secrets (schemas/encryption.py)
    metrics_address: str | None = None  # host:port of /metrics, /healthz, /readyz (None: not served)

    @classmethod
    def from_env(cls, **overrides: object) -> "Settings":
        env = os.environ
        values: dict[str, object] = {
            "bootstrap_servers": env.get("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092"),
            "topic_prefix": env.get("KAFKUBE_TOPIC_PREFIX", "kafkube."),
            "partitions": int(env.get("KAFKUBE_PARTITIONS", "6")),
            "replication_factor": int(env.get("KAFKUBE_REPLICATION_FACTOR", "1")),
            "connect_timeout_s": float(env.get("KAFKUBE_CONNECT_TIMEOUT", "30")),
            "history_s": float(env.get("KAFKUBE_HISTORY_SECONDS", "86400")),
            "service_cidr": env.get("KAFKUBE_SERVICE_CIDR", "10.96.0.0/16"),
            "node_port_range": tuple(int(p) for p in env.get("KAFKUBE_NODE_PORT_RANGE", "30000-32767").split("-", 1)),
            "bus_keys_file": env.get("KAFKUBE_BUS_KEYS_FILE") or None,
            "insecure_bus": env.get("KAFKUBE_INSECURE_BUS", "").lower() in ("1", "true", "yes"),
        }
        values.update(token=read_token(env), token_auth_file=env.get("KAFKUBE_TOKEN_AUTH_FILE") or None,
                      node_token_dir=env.get("KAFKUBE_NODE_TOKEN_DIR") or None,
                      service_account_key_file=env.get("KAFKUBE_SERVICE_ACCOUNT_KEY_FILE") or None,
                      encryption_config=env.get("KAFKUBE_ENCRYPTION_CONFIG") or None,
                      metrics_address=env.get("KAFKUBE_METRICS_ADDRESS", "").strip() or None,
                      pod_security_level=env.get("KAFKUBE_POD_SECURITY_LEVEL") or "baseline")
        values.update(kafka_security_from_env(env))
        values.update(overrides)
        return cls.model_validate(values)

    def group_id(self, name: str) -> str:
        """Consumer group and transactional-id namespace of one service role."""
        return f"{self.topic_prefix}{name}"


def kafka_security_from_env(env: Mapping[str, str]) -> dict[str, object]:
    """The Kafka security settings in `env` (KAFKUBE_KAFKA_*), only those that are set."""
    values: dict[str, object] = {}
    if protocol := env.get("KAFKUBE_KAFKA_SECURITY_PROTOCOL", "").strip().upper():
        values["security_protocol"] = protocol
    for field, name in (("sasl_mechanism", "KAFKUBE_KAFKA_SASL_MECHANISM"), ("kafka_username", "KAFKUBE_KAFKA_USERNAME"),
                        ("kafka_ca_file", "KAFKUBE_KAFKA_CA_FILE")):
        if value := env.get(name, "").strip():
            values[field] = value
    if password := read_secret(env, "KAFKUBE_KAFKA_PASSWORD"):
        values["kafka_password"] = password
    return values


def read_secret(env: Mapping[str, str], name: str) -> str | None:
    """`name`'s value, else the contents of the file `name`_FILE (stripped); None if neither."""
    if value := env.get(name, "").strip():
        return value
    path = env.get(f"{name}_FILE", "").strip()
    if not path:
        return None
    try:
        return Path(path).expanduser().read_text(encoding="utf-8").strip() or None
    except OSError as exc:
        raise TokenUnreadable(f"{name}_FILE={path}: {exc.strerror or exc}") from exc


class TokenUnreadable(RuntimeError):
    """KAFKUBE_TOKEN_FILE (or KAFKUBE_KAFKA_PASSWORD_FILE) names a file that cannot be read."""


def read_token(env: Mapping[str, str]) -> str | None:
    """The process's bearer token: `KAFKUBE_TOKEN`, else the file `KAFKUBE_TOKEN_FILE`."""
    if token := env.get("KAFKUBE_TOKEN", "").strip():
        return token
    path = env.get("KAFKUBE_TOKEN_FILE", "").strip()
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").strip() or None
    except OSError as exc:
        raise TokenUnreadable(f"KAFKUBE_TOKEN_FILE={path}: {exc.strerror or exc}") from exc
