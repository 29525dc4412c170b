"""`kafkube init DIR`: a cluster's credentials, as k3s and kubeadm write them on first
start. It writes the API's token file (`tokens.csv`, kube-apiserver's format) with an
admin in `system:masters` and one identity per component and node; a token file per
identity under `tokens/` (for `KAFKUBE_TOKEN_FILE`); the key the API signs and verifies
ServiceAccount tokens with (`service-account.key`, for `KAFKUBE_SERVICE_ACCOUNT_KEY_FILE`
of every API replica: one hex key a line, the first signs); the API's encryption at
rest of Secrets (`encryption-config.yaml`, for `KAFKUBE_ENCRYPTION_CONFIG`); the cluster CA and the
HTTP API's serving certificate (`ca.crt`, `apiserver.crt`/`apiserver.key`: services.cli.tls); and the admin's CLI config
(`admin.config`, kubeconfig-shaped). Every file is readable by its owner only.
Existing files are kept, so running it again adds nodes without changing any token."""

from __future__ import annotations

import base64
import csv
import io
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import click

from schemas.encryption import API_VERSION as ENCRYPTION_API_VERSION
from schemas.encryption import KIND as ENCRYPTION_KIND
from schemas.auth import (APISERVER_USER, CONTROLLER_MANAGER_USER, INGRESS_USER, MASTERS_GROUP, NODE_USER_PREFIX,
                          NODES_GROUP, SCHEDULER_USER)
from services.cli.config import KafkubeConfig, save_config
from services.cli.tls import SERVER_CERT, SERVER_KEY, apiserver_pki


@dataclass(frozen=True)
class Identity:
    file: str  # tokens/<file>.token
    user: str
    groups: tuple[str, ...] = ()


COMPONENTS = (
    Identity("admin", "kubernetes-admin", (MASTERS_GROUP,)),
    Identity("scheduler", SCHEDULER_USER),
    Identity("controller-manager", CONTROLLER_MANAGER_USER),
    Identity("endpoints", CONTROLLER_MANAGER_USER),
    Identity("proxy", "system:kube-proxy"),
    Identity("ingress", INGRESS_USER),  # the ingress controller (services/ingress)
    Identity("apiserver", APISERVER_USER),  # the HTTP API: impersonates its client-certificate callers
)


def node_identity(node: str) -> Identity:
    return Identity(f"node-{node}", f"{NODE_USER_PREFIX}{node}", (NODES_GROUP,))


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


def _token_for(directory: Path, identity: Identity) -> str:
    path = directory / "tokens" / f"{identity.file}.token"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    token = secrets.token_urlsafe(32)
    _write_private(path, token + "\n")
    return token


SERVICE_ACCOUNT_KEY = "service-account.key"


def service_account_key(directory: Path) -> Path:
    """DIR/service-account.key, written once (kept as it is afterwards: tokens stay valid)."""
    path = directory / SERVICE_ACCOUNT_KEY
    if not path.exists():
        _write_private(path, "# the API's ServiceAccount token key (HS256): the first line signs, all verify\n"
                       + secrets.token_hex(32) + "\n")
    return path


ENCRYPTION_CONFIG = "encryption-config.yaml"


def encryption_config(directory: Path) -> Path:
    """DIR/encryption-config.yaml, written once: Secrets encrypted at rest with AES-GCM
    (a 256-bit key named by its date), `identity` last so Secrets stored before it read."""
    path = directory / ENCRYPTION_CONFIG
    if not path.exists():
        key = base64.b64encode(secrets.token_bytes(32)).decode("ascii")
        _write_private(path, "# the API's EncryptionConfiguration (KAFKUBE_ENCRYPTION_CONFIG): rotate by adding a "
                       "key first, restarting the API and re-applying the Secrets\n"
                       f"apiVersion: {ENCRYPTION_API_VERSION}\nkind: {ENCRYPTION_KIND}\nresources:\n"
                       "  - resources: [secrets]\n    providers:\n      - aesgcm:\n          keys:\n"
                       f"            - name: key-{time.strftime('%Y%m%d')}\n              secret: {key}\n"
                       "      - identity: {}\n")
    return path


def token_file_text(rows: list[tuple[str, Identity]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for token, identity in rows:
        writer.writerow([token, identity.user, identity.file, ",".join(identity.groups)])
    return out.getvalue()


def init_credentials(directory: Path, *, nodes: list[str], bootstrap_servers: str,
                     topic_prefix: str = "kafkube.") -> Path:
    """Write (or complete) the credentials of a cluster in `directory`; return the admin config."""
    (directory / "tokens").mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    identities = [*COMPONENTS, *(node_identity(n) for n in nodes)]
    known = sorted({p.stem for p in (directory / "tokens").glob("*.token")} | {i.file for i in identities})
    by_file = {i.file: i for i in identities}
    rows = [(_token_for(directory, by_file[f]), by_file[f]) for f in known if f in by_file]
    rows += [(_token_for(directory, node_identity(f.removeprefix("node-"))), node_identity(f.removeprefix("node-")))
             for f in known if f not in by_file and f.startswith("node-")]
    _write_private(directory / "tokens.csv", token_file_text(rows))
    service_account_key(directory)
    encryption_config(directory)
    apiserver_pki(directory)
    admin = directory / "admin.config"
    config = KafkubeConfig.model_validate({
        "current-context": "kafkube-admin",
        "clusters": [{"name": "kafkube", "cluster": {"kafka-bootstrap-servers": bootstrap_servers,
                                                     "topic-prefix": topic_prefix}}],
        "users": [{"name": "kubernetes-admin", "user": {"token-file": str(directory / "tokens" / "admin.token")}}],
        "contexts": [{"name": "kafkube-admin", "context": {"cluster": "kafkube", "user": "kubernetes-admin"}}]})
    save_config(admin, config)
    return admin


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--node", "nodes", multiple=True, help="A node that gets its own identity (repeatable).")
@click.option("--bootstrap-servers", envvar="KAFKA_BOOTSTRAP_SERVERS", default="localhost:9092", show_default=True)
@click.option("--topic-prefix", envvar="KAFKUBE_TOPIC_PREFIX", default="kafkube.", show_default=True)
def init(directory: Path, nodes: tuple[str, ...], bootstrap_servers: str, topic_prefix: str) -> None:
    """Write a cluster's credentials into DIRECTORY (kept if present)."""
    admin = init_credentials(directory, nodes=list(nodes), bootstrap_servers=bootstrap_servers,
                             topic_prefix=topic_prefix)
    click.echo(f"token file:   {directory / 'tokens.csv'} (KAFKUBE_TOKEN_AUTH_FILE of the API)")
    click.echo(f"tokens:       {directory / 'tokens'}/<component>.token (KAFKUBE_TOKEN_FILE of each service)")
    click.echo(f"SA key:       {directory / SERVICE_ACCOUNT_KEY} (KAFKUBE_SERVICE_ACCOUNT_KEY_FILE of the API)")
    click.echo(f"encryption:   {directory / ENCRYPTION_CONFIG} (KAFKUBE_ENCRYPTION_CONFIG of the API)")
    click.echo(f"HTTP API:     {directory / SERVER_CERT}, {directory / SERVER_KEY} (KAFKUBE_APISERVER_CERT_FILE, "
               f"KAFKUBE_APISERVER_KEY_FILE of the apiserver; CA {directory / 'ca.crt'})")
    click.echo(f"admin config: {admin} (export KAFKUBE_CONFIG={admin})")
