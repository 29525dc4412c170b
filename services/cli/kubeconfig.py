"""`kafkube config kubeconfig`: a kubeconfig for kubectl (and Helm, client libraries) that
talks to `kafkube serve apiserver` as the CLI's own identity (its bearer token) or, with
`--client-certificate`/`--client-key`, as the user a client certificate names (`kafkube
certs client`; reads only: docs/security.md); the apiserver's URL (`--server`, else
`KAFKUBE_APISERVER_ADDRESS`, default https://127.0.0.1:6443) and the cluster CA
(`--certificate-authority`, else `KAFKUBE_APISERVER_CA_FILE`, else `ca.crt` beside the
CLI's config file, where `kafkube init` writes both). `kubeconfig` is pure; the command
reads the files."""

from __future__ import annotations

import base64
import os
import sys
from pathlib import Path
from typing import Any

import click
import yaml
from cryptography import x509
from cryptography.x509.oid import NameOID

from services.apiserver.options import ApiServerOptions
from services.cli.config import cli_settings, config_path
from services.cli.tls import CA_CERT


def _data(pem: bytes) -> str:
    return base64.b64encode(pem).decode()


def kubeconfig(*, server: str, ca_pem: bytes, credentials: dict[str, str], cluster: str = "kafkube",
               user: str = "kafkube-user") -> dict[str, Any]:
    """A kubeconfig with one cluster, one user (`credentials`: `token_credentials` or
    `certificate_credentials`) and the context joining them."""
    context = f"{user}@{cluster}"
    return {"apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": context,
            "clusters": [{"name": cluster, "cluster": {"server": server, "certificate-authority-data": _data(ca_pem)}}],
            "users": [{"name": user, "user": credentials}],
            "contexts": [{"name": context, "context": {"cluster": cluster, "user": user}}]}


def token_credentials(token: str) -> dict[str, str]:
    return {"token": token}


def certificate_credentials(cert_pem: bytes, key_pem: bytes) -> dict[str, str]:
    return {"client-certificate-data": _data(cert_pem), "client-key-data": _data(key_pem)}


def certificate_user(cert_pem: bytes) -> str:
    """The user a client certificate names (its subject's CN)."""
    names = x509.load_pem_x509_certificate(cert_pem).subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else "kafkube-user"


def _ca_path(given: str | None) -> Path:
    return Path(given or os.environ.get("KAFKUBE_APISERVER_CA_FILE") or config_path().parent / CA_CERT).expanduser()


def _read(path: Path, what: str, remedy: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        click.echo(f"error: cannot read {what} {path}: {exc.strerror or exc} ({remedy})", err=True)
        sys.exit(1)


@click.command("kubeconfig")
@click.option("--server", default=None, help="The apiserver's URL (default: from KAFKUBE_APISERVER_ADDRESS).")
@click.option("--certificate-authority", "ca_file", default=None, help="The cluster CA's PEM file.")
@click.option("--client-certificate", "cert_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Authenticate with this client certificate (kafkube certs client) instead of the CLI's token.")
@click.option("--client-key", "key_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The client certificate's key.")
def kubeconfig_command(server: str | None, ca_file: str | None, cert_file: Path | None, key_file: Path | None) -> None:
    """Print a kubeconfig for kubectl as the CLI's identity (token, apiserver address, CA),
    or as the user of a client certificate."""
    if (cert_file is None) != (key_file is None):
        raise click.UsageError("--client-certificate and --client-key go together")
    if cert_file is not None and key_file is not None:
        cert_pem = _read(cert_file, "the client certificate", "--client-certificate")
        user, credentials = certificate_user(cert_pem), certificate_credentials(
            cert_pem, _read(key_file, "the client key", "--client-key"))
    else:
        settings = cli_settings()
        if not settings.token:
            click.echo("error: the CLI has no token (KAFKUBE_TOKEN, KAFKUBE_TOKEN_FILE or its config's user)", err=True)
            sys.exit(1)
        user, credentials = "kafkube-user", token_credentials(settings.token)
    ca_pem = _read(_ca_path(ca_file), "the cluster CA", "--certificate-authority or KAFKUBE_APISERVER_CA_FILE")
    document = kubeconfig(server=server or ApiServerOptions.from_env().url, ca_pem=ca_pem, credentials=credentials,
                          user=user)
    click.echo(yaml.safe_dump(document, sort_keys=False), nl=False)
