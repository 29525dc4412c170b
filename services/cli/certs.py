"""`kafkube certs client DIR --user NAME [--group G ...]`: a client certificate signed by
the cluster CA that `kafkube init DIR` wrote, as `kubeadm kubeconfig user` issues one:
CN = the user, O = each group, which is who `kafkube serve apiserver` takes its holder
for. `kafkube config kubeconfig --client-certificate ... --client-key ...` hands it to
kubectl. Certificate holders read; writes need a bearer token (docs/security.md)."""

from __future__ import annotations

from pathlib import Path

import click

from services.cli.tls import client_certificate


@click.group()
def certs() -> None:
    """Certificates of the cluster CA (`kafkube init DIR` writes DIR/ca.crt, DIR/ca.key)."""


@certs.command("client")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--user", required=True, help="The user the certificate names (its CN).")
@click.option("--group", "groups", multiple=True, help="A group of the user (an O value; repeatable).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write OUT.crt and OUT.key (default: DIR/clients/USER).")
@click.option("--days", type=click.IntRange(1, 3650), default=365, show_default=True)
def client(directory: Path, user: str, groups: tuple[str, ...], out: Path | None, days: int) -> None:
    """Issue a client certificate for USER (in GROUPs) signed by DIR's cluster CA."""
    if out is None:
        (directory / "clients").mkdir(mode=0o700, exist_ok=True)
        out = directory / "clients" / user.replace("/", "_").replace(":", "_")
    try:
        cert, key = client_certificate(directory, out, user=user, groups=groups, days=days)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"certificate: {cert}\nkey:         {key}\n"
               f"kubeconfig:  kafkube config kubeconfig --client-certificate {cert} --client-key {key}")
