"""The CLI's configuration: a kubeconfig-shaped file (`KAFKUBE_CONFIG`, default
`~/.kafkube/config`) with clusters (brokers, topic prefix), users (a bearer token) and
contexts that pair them, as kubectl's kubeconfig does. A cluster may name Kafka's
`security-protocol` and `sasl-mechanism`, a user its Kafka login (`kafka-username` and
`kafka-password-file` or `kafka-password`; docs/kafka-acls.md). The environment wins over
the file (`KAFKA_BOOTSTRAP_SERVERS`, `KAFKUBE_TOKEN`, `KAFKUBE_TOKEN_FILE`,
`KAFKUBE_KAFKA_*`, ...), so scripts and CI keep working without one. Used by every CLI command and by `kafkube config`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.runtime.config import Settings, kafka_security_from_env, read_token

DEFAULT_PATH = Path("~/.kafkube/config")


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class ClusterEntry(_Model):
    bootstrap_servers: str = Field(alias="kafka-bootstrap-servers")
    topic_prefix: str = Field(default="kafkube.", alias="topic-prefix")
    security_protocol: str | None = Field(default=None, alias="security-protocol")
    sasl_mechanism: str | None = Field(default=None, alias="sasl-mechanism")


class UserEntry(_Model):
    token: str | None = None
    token_file: str | None = Field(default=None, alias="token-file")
    kafka_username: str | None = Field(default=None, alias="kafka-username")
    kafka_password: str | None = Field(default=None, alias="kafka-password")
    kafka_password_file: str | None = Field(default=None, alias="kafka-password-file")


class ContextEntry(_Model):
    cluster: str
    user: str


class Named(_Model):
    name: str


class NamedCluster(Named):
    cluster: ClusterEntry


class NamedUser(Named):
    user: UserEntry


class NamedContext(Named):
    context: ContextEntry


class KafkubeConfig(_Model):
    api_version: str = Field(default="v1", alias="apiVersion")
    kind: str = "Config"
    current_context: str = Field(default="", alias="current-context")
    clusters: list[NamedCluster] = Field(default_factory=list)
    users: list[NamedUser] = Field(default_factory=list)
    contexts: list[NamedContext] = Field(default_factory=list)

    def context(self, name: str | None = None) -> tuple[ClusterEntry, UserEntry] | None:
        """The cluster and user of a context (the current one by default), or None."""
        wanted = name or self.current_context
        found = next((c.context for c in self.contexts if c.name == wanted), None)
        if found is None:
            return None
        cluster = next((c.cluster for c in self.clusters if c.name == found.cluster), None)
        user = next((u.user for u in self.users if u.name == found.user), UserEntry())
        if cluster is None:
            raise ConfigError(f'context "{wanted}" names cluster "{found.cluster}", which is not in the config')
        return cluster, user

    def dump(self, *, redact: bool = True) -> str:
        data = self.model_dump(by_alias=True, exclude_none=True)
        if redact:
            for user in data["users"]:
                for secret in ("token", "kafka-password"):
                    if secret in user["user"]:
                        user["user"][secret] = "REDACTED"
        return yaml.safe_dump(data, sort_keys=False)


class ConfigError(ValueError):
    """The config file cannot be used: the message names the file and the problem."""


def config_path(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    return Path(env.get("KAFKUBE_CONFIG") or DEFAULT_PATH).expanduser()


def load_config(path: Path) -> KafkubeConfig | None:
    """The file's config, None when there is no file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from exc
    try:
        return KafkubeConfig.model_validate(yaml.safe_load(text) or {})
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"{path}: not a valid Kafkube config: {exc}") from exc


def save_config(path: Path, config: KafkubeConfig) -> None:
    """Write the config readable by its owner only (it holds tokens)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(config.dump(redact=False))


def _kafka_login(cluster: ClusterEntry, user: UserEntry) -> dict[str, Any]:
    """The Settings fields of a context's Kafka security (only those it names)."""
    file_env = {"KAFKUBE_KAFKA_SECURITY_PROTOCOL": cluster.security_protocol or "",
                "KAFKUBE_KAFKA_SASL_MECHANISM": cluster.sasl_mechanism or "",
                "KAFKUBE_KAFKA_USERNAME": user.kafka_username or "",
                "KAFKUBE_KAFKA_PASSWORD": user.kafka_password or "",
                "KAFKUBE_KAFKA_PASSWORD_FILE": user.kafka_password_file or ""}
    try:
        return kafka_security_from_env(file_env)
    except RuntimeError as exc:  # an unreadable password file
        raise ConfigError(str(exc)) from exc


def set_kafka_login(path: Path, *, security_protocol: str, username: str, password_file: str | None = None,
                    password: str | None = None, sasl_mechanism: str | None = None) -> None:
    """Add Kafka's login to the current context of the config at `path` (its cluster and
    user): what `make up` and the compose init do to the admin config `kafkube init` wrote."""
    config = load_config(path)
    if config is None:
        raise ConfigError(f"{path}: no such config")
    found = next((c.context for c in config.contexts if c.name == config.current_context), None)
    if found is None:
        raise ConfigError(f"{path}: no current context")
    for named in config.clusters:
        if named.name == found.cluster:
            named.cluster.security_protocol, named.cluster.sasl_mechanism = security_protocol, sasl_mechanism
    for named_user in config.users:
        if named_user.name == found.user:
            named_user.user.kafka_username = username
            named_user.user.kafka_password_file, named_user.user.kafka_password = password_file, password
    save_config(path, config)


def cli_settings(env: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings for a CLI command: the current context of the config file, under the
    environment's own values."""
    env = dict(os.environ) if env is None else env
    config = load_config(config_path(env))
    chosen = config.context() if config else None
    values: dict[str, Any] = {}
    if chosen is not None:
        cluster, user = chosen
        values["bootstrap_servers"] = cluster.bootstrap_servers
        values["topic_prefix"] = cluster.topic_prefix
        token_env = {"KAFKUBE_TOKEN": user.token or "", "KAFKUBE_TOKEN_FILE": user.token_file or ""}
        values["token"] = read_token(token_env)
        values.update(_kafka_login(cluster, user))
    if env.get("KAFKA_BOOTSTRAP_SERVERS"):
        values["bootstrap_servers"] = env["KAFKA_BOOTSTRAP_SERVERS"]
    if env.get("KAFKUBE_TOPIC_PREFIX"):
        values["topic_prefix"] = env["KAFKUBE_TOPIC_PREFIX"]
    if token := read_token(env):
        values["token"] = token
    values.update(kafka_security_from_env(env))
    base = Settings.from_env()
    return base.model_copy(update={**values, **overrides})
