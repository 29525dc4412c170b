"""The CLI's configuration: a kubeconfig-shaped file (`KAFKUBE_CONFIG`, default
`~/.kafkube/config`) with clusters (brokers, topic prefix), users (a bearer token) and
contexts that pair them, as kubectl's kubeconfig does. The environment wins over the
file (`KAFKA_BOOTSTRAP_SERVERS`, `KAFKUBE_TOKEN`, `KAFKUBE_TOKEN_FILE`, ...), so scripts
and CI keep working without one. Used by every CLI command and by `kafkube config`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.runtime.config import Settings, read_token

DEFAULT_PATH = Path("~/.kafkube/config")


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class ClusterEntry(_Model):
    bootstrap_servers: str = Field(alias="kafka-bootstrap-servers")
    topic_prefix: str = Field(default="kafkube.", alias="topic-prefix")


class UserEntry(_Model):
    token: str | None = None
    token_file: str | None = Field(default=None, alias="token-file")


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
                if "token" in user["user"]:
                    user["user"]["token"] = "REDACTED"
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
    if env.get("KAFKA_BOOTSTRAP_SERVERS"):
        values["bootstrap_servers"] = env["KAFKA_BOOTSTRAP_SERVERS"]
    if env.get("KAFKUBE_TOPIC_PREFIX"):
        values["topic_prefix"] = env["KAFKUBE_TOPIC_PREFIX"]
    if token := read_token(env):
        values["token"] = token
    base = Settings.from_env()
    return base.model_copy(update={**values, **overrides})
