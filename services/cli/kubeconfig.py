"""`kafkube config kubeconfig`: a kubeconfig for kubectl (and Helm, client libraries) that
talks to `kafkube serve apiserver` as the CLI's own identity: its bearer token, the
apiserver's URL (`--server`, else `KAFKUBE_APISERVER_ADDRESS`, default
https://127.0.0.1:6443) and the cluster CA (`--certificate-authority`, else
`KAFKUBE_APISERVER_CA_FILE`, else `ca.crt` beside the CLI's config file, where
`kafkube init` writes both). `kubeconfig` is pure; the command reads the files."""

from __future__ import annotations

import base64
import os
import sys
from pathlib import Path
from typing import Any

import click
import yaml

from services.apiserver.options import ApiServerOptions
from services.cli.config import cli_settings, config_path
from services.cli.tls import CA_CERT


def kubeconfig(*, server: str, ca_pem: bytes, token: str, cluster: str = "kafkube",
               user: str = "kafkube-user") -> dict[str, Any]:
    """A kubeconfig with one cluster, one user (a bearer token) and the context joining them."""
    context = f"{user}@{cluster}"
    return {"apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": context,
            "clusters": [{"name": cluster, "cluster": {
                "server": server, "certificate-authority-data": base64.b64encode(ca_pem).decode()}}],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": context, "context": {"cluster": cluster, "user": user}}]}


def _ca_path(given: str | None) -> Path:
    return Path(given or os.environ.get("KAFKUBE_APISERVER_CA_FILE") or config_path().parent / CA_CERT).expanduser()


@click.command("kubeconfig")
@click.option("--server", default=None, help="The apiserver's URL (default: from KAFKUBE_APISERVER_ADDRESS).")
@click.option("--certificate-authority", "ca_file", default=None, help="The cluster CA's PEM file.")
def kubeconfig_command(server: str | None, ca_file: str | None) -> None:
    """Print a kubeconfig for kubectl as the CLI's identity (token, apiserver address, CA)."""
    settings = cli_settings()
    if not settings.token:
        click.echo("error: the CLI has no token (KAFKUBE_TOKEN, KAFKUBE_TOKEN_FILE or its config's user)", err=True)
        sys.exit(1)
    path = _ca_path(ca_file)
    try:
        ca_pem = path.read_bytes()
    except OSError as exc:
        click.echo(f"error: cannot read the cluster CA {path}: {exc.strerror or exc} "
                   "(--certificate-authority or KAFKUBE_APISERVER_CA_FILE)", err=True)
        sys.exit(1)
    document = kubeconfig(server=server or ApiServerOptions.from_env().url, ca_pem=ca_pem, token=settings.token)
    click.echo(yaml.safe_dump(document, sort_keys=False), nl=False)
