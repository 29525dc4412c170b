"""`kafkube auth`: who am I, and may I? As `kubectl auth whoami` and `kubectl auth can-i`,
answered by the API from a SelfSubjectReview or a (Self)SubjectAccessReview request."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click
import orjson
import yaml

from schemas.records import REVIEW_ANNOTATION, Op, WriteRequest
from schemas.registry import NoKindMatch, resolve_resource
from services.cli.client import Answer, Client
from services.cli.config import cli_settings



def _ask(request: WriteRequest) -> tuple[Answer, dict[str, Any]]:
    client = Client(cli_settings(connect_timeout_s=10))
    answer = asyncio.run(_connected(client, request))
    if answer is None:
        click.echo("error: the API did not answer within 30s (is `kafkube serve api` running?)", err=True)
        sys.exit(1)
    if answer.reason == "Rejected":
        click.echo(f"Error from server ({answer.status_reason or 'Rejected'}): {answer.message}", err=True)
        sys.exit(1)
    review = (answer.event.get("metadata", {}).get("annotations") or {}).get(REVIEW_ANNOTATION, "{}")
    return answer, orjson.loads(review)


async def _connected(client: Client, request: WriteRequest) -> Answer | None:
    await client.connect()
    return await client.request(request)


@click.group("auth")
def auth() -> None:
    """Inspect authorization: who you are and what you may do."""


@auth.command("whoami")
@click.option("-o", "--output", type=click.Choice(["json", "yaml"]), default=None)
def whoami(output: str | None) -> None:
    """Print the user the API authenticates this client as."""
    request = WriteRequest(op=Op.CREATE, apiVersion="authentication.k8s.io/v1", kind="SelfSubjectReview",
                           name="whoami", writer="kafkube-cli")
    _answer, review = _ask(request)
    info = review.get("userInfo") or {}
    if output:
        doc = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview", "status": {"userInfo": info}}
        click.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() if output == "json"
                   else yaml.safe_dump(doc, sort_keys=False), nl=output == "json")
        return
    click.echo(f"ATTRIBUTE   VALUE\nUsername    {info.get('username', '')}")
    if info.get("uid"):
        click.echo(f"UID         {info['uid']}")
    click.echo(f"Groups      [{' '.join(info.get('groups') or [])}]")


@auth.command("can-i")
@click.argument("verb")
@click.argument("resource")
@click.argument("name", required=False, default="")
@click.option("-n", "--namespace", default="default")
@click.option("-A", "--all-namespaces", is_flag=True)
@click.option("--as", "as_user", default=None, help="Ask for another user (needs the right to review).")
@click.option("--as-group", "as_groups", multiple=True)
@click.option("-q", "--quiet", is_flag=True, help="No output: the exit code says yes (0) or no (1).")
def can_i(verb: str, resource: str, name: str, namespace: str, all_namespaces: bool, as_user: str | None,
          as_groups: tuple[str, ...], quiet: bool) -> None:
    """May I (or --as USER) do VERB on RESOURCE [NAME]? Prints yes or no."""
    resource, _, subresource = resource.partition("/")
    try:
        info = resolve_resource(resource)
        group, plural, namespaced = info.group, info.plural, info.namespaced
    except NoKindMatch:  # kubectl asks about any resource, known or not
        plural, _, group = resource.partition(".")
        namespaced = True
    attributes = {"verb": verb, "resource": plural, "group": group, "subresource": subresource, "name": name,
                  "namespace": "" if all_namespaces or not namespaced else namespace}
    spec: dict[str, Any] = {"resourceAttributes": attributes}
    kind = "SelfSubjectAccessReview"
    if as_user:
        kind, spec = "SubjectAccessReview", {**spec, "user": as_user, "groups": list(as_groups)}
    request = WriteRequest(op=Op.CREATE, apiVersion="authorization.k8s.io/v1", kind=kind, name="can-i",
                           body={"spec": spec}, writer="kafkube-cli")
    _answer, review = _ask(request)
    allowed = bool(review.get("allowed"))
    if not quiet:
        click.echo("yes" if allowed else "no")
    sys.exit(0 if allowed else 1)
