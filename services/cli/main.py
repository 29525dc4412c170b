"""`kafkube`: the command line. Thin click commands over `client` and `printers`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

import click
import orjson

from schemas.records import PROPAGATION_HEADER
from schemas.registry import KindInfo, NoKindMatch, resolve_resource
from schemas.selectors import Predicate, SelectorError, label_selector
from services.cli import auth_commands, config_commands, credentials
from services.cli import describe as describing
from services.cli.client import Answer, Client, read_events
from services.cli.files import Document, ManifestFileError, read_documents
from services.cli.secrets import opened, sealed
from services.cli.history import history_rows, parse_instant, state_at, versions
from services.cli.logs import LogsError, attempt_shown, pick_container, pod_lines
from services.cli.resource_args import ResourceArgsError, kind_and_name, kinds_and_names
from services.cli.printers import merged, objects, render_table, table, to_json, to_yaml
from services.cli.secret_view import redacted
from services.cli.certs import certs
from services.cli.keys import keys
from services.cli.serve import serve
from services.cli.config import cli_settings
from services.runtime.errors import KafkaUnavailable, TopicMissing

T = TypeVar("T")
VERBS = {"Created": "created", "Updated": "configured", "Unchanged": "unchanged", "Deleted": "deleted"}


def _run(coro: Coroutine[Any, Any, int]) -> None:
    try:
        code = asyncio.run(coro)
    except (KafkaUnavailable, TopicMissing) as exc:
        click.echo(f"error: {exc}", err=True)
        code = 1
    except (NoKindMatch, ManifestFileError, LogsError) as exc:
        click.echo(f"error: {exc}", err=True)
        code = 1
    sys.exit(code)


def _named(read: Callable[[Sequence[str]], T], args: Sequence[str]) -> T:
    """The kinds and names the arguments give (kubectl's forms), or kubectl's error and exit 1."""
    try:
        return read(args)
    except NoKindMatch as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except ResourceArgsError as exc:
        raise click.UsageError(str(exc)) from None


def _client() -> Client:
    return Client(cli_settings(connect_timeout_s=10))


def _ref(info: KindInfo, name: str) -> str:
    return f"{info.kind.lower()}{'.' + info.group if info.group else ''}/{name}"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Kafkube: Kubernetes-style orchestration on Apache Kafka."""


cli.add_command(serve)
cli.add_command(keys)
cli.add_command(certs)
cli.add_command(config_commands.config)
cli.add_command(credentials.init)
cli.add_command(auth_commands.auth)

from services.cli.workloads import rollout, scale  # noqa: E402
from services.cli.top import top  # noqa: E402

cli.add_command(scale)
cli.add_command(rollout)
cli.add_command(top)


# -- apply / delete -------------------------------------------------------------------------
@cli.command()
@click.option("-f", "--filename", "files", multiple=True, required=True, help="File, directory or - for stdin.")
@click.option("-R", "--recursive", is_flag=True, help="Process directories recursively.")
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for each answer.")
def apply(files: tuple[str, ...], recursive: bool, timeout: float) -> None:
    """Create or update objects from manifests."""
    _run(_publish(read_documents(files, recursive=recursive), "apply", timeout))


@cli.command()
@click.argument("args", nargs=-1)
@click.option("-f", "--filename", "files", multiple=True)
@click.option("-n", "--namespace", default="default")
@click.option("--cascade", type=click.Choice(["background", "foreground", "orphan"]), default="background",
              show_default=True, help="What happens to the objects this one owns.")
@click.option("--timeout", default=30.0, show_default=True)
def delete(args: tuple[str, ...], files: tuple[str, ...], namespace: str, cascade: str, timeout: float) -> None:
    """Delete objects by file, or by `KIND NAME...`."""
    if files:
        docs = read_documents(files)
    elif args:
        infos, names = _named(kinds_and_names, args)
        if len(infos) != 1 or not names:
            raise click.UsageError("give -f FILE, or a resource type and one or more names")
        info = infos[0]
        meta = lambda n: {"name": n, **({"namespace": namespace} if info.namespaced else {})}  # noqa: E731
        docs = [Document("", {"apiVersion": info.api_version, "kind": info.kind, "metadata": meta(n)})
                for n in names]
    else:
        raise click.UsageError("give -f FILE, or a resource type and one or more names")
    _run(_publish(docs, "delete", timeout, [(PROPAGATION_HEADER, cascade.encode())]))


async def _publish(docs: list[Document], op: str, timeout: float,
                   headers: list[tuple[str, bytes]] | None = None) -> int:
    client = _client()
    await client.connect()
    if op != "delete":
        docs = await sealed(client, docs, timeout)
    # Namespaces go first, and are answered before what may live in them (as kubectl orders).
    first = [d for d in docs if d.obj.get("kind") == "Namespace" and op != "delete"]
    rest = [d for d in docs if d not in first]
    answers: dict[int, Answer | None] = {}
    for batch in (first, rest):
        got = await client.publish([orjson.dumps(d.obj) for d in batch], op=op, timeout_s=timeout,
                                   extra_headers=headers)
        answers.update({id(d): a for d, a in zip(batch, got)})
    failed = 0
    for doc in docs:
        failed += _report(doc, answers[id(doc)], op)
    return 1 if failed else 0


def _report(doc: Document, answer: Answer | None, op: str) -> int:
    name = (doc.obj.get("metadata") or {}).get("name", "")
    try:
        info = resolve_resource(str(doc.obj.get("kind", "")).lower())
        what = _ref(info, name)
    except NoKindMatch:
        what = f"{str(doc.obj.get('kind', '')).lower()}/{name}"
    if answer is None:
        click.echo(f"error: timed out waiting for the answer to {what}", err=True)
        return 1
    if answer.reason == "Rejected":
        where = f'error when {"deleting" if op == "delete" else "applying"} "{doc.origin}": ' if doc.origin else ""
        click.echo(f"Error from server ({answer.status_reason or 'Invalid'}): {where}{answer.message}", err=True)
        return 1
    for warning in answer.warnings:
        click.echo(f"Warning: {warning}", err=True)
    if op == "delete":
        kind_ref, _, name = what.partition("/")
        click.echo(f'{kind_ref} "{name}" deleted')
    else:
        click.echo(f"{what} {VERBS.get(answer.reason, answer.reason.lower())}")
    return 0


# -- get / describe / events ----------------------------------------------------------------
@cli.command()
@click.argument("args", nargs=-1, required=True)
@click.option("-n", "--namespace", default="default")
@click.option("-A", "--all-namespaces", is_flag=True)
@click.option("-o", "--output", type=click.Choice(["wide", "yaml", "json", "name"]), default=None)
@click.option("-w", "--watch", is_flag=True, help="After listing, watch for changes.")
@click.option("-l", "--selector", default=None,
              help="Label selector, as kubectl's: -l 'app=web,tier!=cache', 'env in (a,b)', 'key', '!key'.")
@click.option("--at", "at", default=None, help="Show the objects as they stood then: ISO 8601 time or an age (10m).")
def get(args: tuple[str, ...], namespace: str, all_namespaces: bool,
        output: str | None, watch: bool, selector: str | None, at: str | None) -> None:
    """List objects: TYPE[,TYPE...] [NAME...] or TYPE/NAME... (kubectl's tables, or -o yaml|json|wide|name)."""
    infos, names = _named(kinds_and_names, args)
    if names and selector is not None:  # kubectl's rule and words
        raise click.UsageError("when paths, URLs, or resource names are provided, a resource selector may not be "
                               "specified")
    when = _instant(at)
    try:
        chosen = Choice(names, namespace, all_namespaces, label_selector(selector))
    except SelectorError as exc:
        raise click.BadParameter(str(exc), param_hint="-l/--selector") from None
    _run(_get(infos, chosen, output, watch and when is None, when))


def _instant(text: str | None) -> datetime | None:
    try:
        return None if text is None else parse_instant(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--at") from None


@dataclass(frozen=True)
class Choice:
    """Which objects `get` shows: by name, namespace and label selector."""

    names: tuple[str, ...]
    namespace: str
    all_ns: bool
    labels: Predicate

    def select(self, info: KindInfo, objs: dict[str, Any]) -> list[dict[str, Any]]:
        chosen = [o for o in objs.values()
                  if (self.all_ns or not info.namespaced or o["metadata"].get("namespace") == self.namespace)
                  and (not self.names or o["metadata"]["name"] in self.names) and self.labels(o)]
        return sorted(chosen, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))


async def _get(infos: list[KindInfo], chosen: Choice, output: str | None, watch: bool,
               when: datetime | None = None) -> int:
    names, namespace, all_ns = chosen.names, chosen.namespace, chosen.all_ns
    client = _client()
    await client.connect()
    code, shown = 0, []
    for info in infos:
        if when is None:
            desired, observed = await client.snapshot(info.plural)
        else:
            desired = await state_at(client, client.topics.desired(info.plural), when)
            observed = await state_at(client, client.topics.observed(info.plural), when)
        objs = chosen.select(info, objects(desired, observed))
        if info.plural == "secrets" and output in ("yaml", "json") and when is None:
            objs = await opened(client, objs)
        for missing in sorted(set(names) - {o["metadata"]["name"] for o in objs}):
            click.echo(f'Error from server (NotFound): {_resource_name(info)} "{missing}" not found', err=True)
            code = 1
        shown.append((info, objs))
    _print(shown, output, all_ns, namespace, names)
    if watch:
        await _watch(client, infos[0], chosen, output)
    return code


def _print(shown: list[tuple[KindInfo, list[dict[str, Any]]]], output: str | None, all_ns: bool,
           namespace: str, names: tuple[str, ...]) -> None:
    if output in ("yaml", "json"):
        objs = [o for _, group in shown for o in group]
        if objs:
            click.echo(to_yaml(objs) if output == "yaml" else to_json(objs))
        return
    blocks = []
    for info, objs in shown:
        if output == "name":
            blocks += [_ref(info, o["metadata"]["name"]) for o in objs]
        elif objs:
            prefix = _ref(info, "") if len(shown) > 1 else ""
            blocks.append(render_table(info.plural, objs, wide=output == "wide", all_namespaces=all_ns,
                                       name_prefix=prefix))
    if blocks:
        click.echo(("\n" if output == "name" else "\n\n").join(blocks))
    elif not names:
        where = "" if all_ns or not shown[0][0].namespaced else f" in {namespace} namespace"
        click.echo(f"No resources found{where}.", err=True)


async def _watch(client: Client, info: KindInfo, chosen: Choice, output: str | None) -> None:
    view = client.watch(info.plural)
    desired_topic = client.topics.desired(info.plural)
    queue: asyncio.Queue[str] = asyncio.Queue()
    view.add_handler(lambda change: queue.put_nowait(change.key) if view.synced else None)
    async with view:
        await view.wait_synced()
        while True:
            key = await queue.get()
            obj = view.get(desired_topic, key)
            if obj is None:
                continue
            obj = merged(obj, view.get(client.topics.observed(info.plural), key))
            if chosen.select(info, {key: obj}):
                _print([(info, [obj])], output, chosen.all_ns, chosen.namespace, chosen.names)


def _resource_name(info: KindInfo) -> str:
    return f"{info.plural}.{info.group}" if info.group else info.plural


@cli.command()
@click.argument("args", nargs=-1, required=True)
@click.option("-n", "--namespace", default="default")
def describe(args: tuple[str, ...], namespace: str) -> None:
    """Show objects in detail, with their events: TYPE [NAME...] or TYPE/NAME..."""
    infos, names = _named(kinds_and_names, args)
    if len(infos) != 1:
        raise click.UsageError("describe one resource type at a time")
    _run(describing.describe(_client(), infos[0], names, namespace))


@cli.command()
@click.option("-n", "--namespace", default="default")
@click.option("-A", "--all-namespaces", is_flag=True)
@click.option("-f", "--follow", "--watch", "follow", is_flag=True, help="Keep printing new events.")
@click.option("-o", "--output", type=click.Choice(["json"]), default=None)
def events(namespace: str, all_namespaces: bool, follow: bool, output: str | None) -> None:
    """List events (LAST SEEN, TYPE, REASON, OBJECT, MESSAGE)."""
    _run(_events(namespace, all_namespaces, follow, output))


async def _events(namespace: str, all_ns: bool, follow: bool, output: str | None) -> int:
    client = _client()
    await client.connect()
    if output is None:
        click.echo(describing.event_line(describing.EVENT_HEADERS, all_ns))
    def show(event: dict[str, Any]) -> None:
        if all_ns or event.get("metadata", {}).get("namespace") == namespace:
            line = orjson.dumps(event).decode() if output == "json" else \
                describing.event_line(describing.event_row(event), all_ns)
            click.echo(line)

    async with client.events() as cursor:
        if follow:
            async for event in read_events(cursor, follow=True):
                show(event)
        else:  # what happened so far, oldest first across partitions, as kubectl sorts it
            found = [e async for e in read_events(cursor, follow=False)]
            for event in sorted(found, key=lambda e: e.get("eventTime") or e.get("lastTimestamp") or ""):
                show(event)
    return 0


@cli.command()
@click.argument("pod")
@click.option("-c", "--container", default=None)
@click.option("-n", "--namespace", default="default")
@click.option("-f", "--follow", is_flag=True)
@click.option("--tail", type=int, default=-1, help="Lines of recent log to show (-1: all).")
@click.option("-p", "--previous", is_flag=True, help="The previous run of the container, if it restarted.")
def logs(pod: str, container: str | None, namespace: str, follow: bool, tail: int, previous: bool) -> None:
    """Print a container's logs (from kafkube.logs): its current run, or with -p the one before."""
    _run(_logs(pod.removeprefix("pod/").removeprefix("pods/"), container, namespace, follow, tail, previous))


async def _logs(name: str, container: str | None, namespace: str, follow: bool, tail: int, previous: bool) -> int:
    client = _client()
    await client.connect()
    desired, observed = await client.snapshot("pods")
    key = f"{namespace}/{name}"
    if key not in desired:
        click.echo(f'Error from server (NotFound): pods "{name}" not found', err=True)
        return 1
    pod = merged(desired[key], observed.get(key))
    chosen = pick_container(pod, container)
    attempt = attempt_shown(pod, chosen, previous=previous)
    async for line in pod_lines(client, key, chosen, follow=follow, tail=None if tail < 0 else tail,
                                attempt=attempt):
        click.echo(line)
    return 0


@cli.command()
@click.argument("args", nargs=-1, required=True)
@click.option("-n", "--namespace", default="default")
@click.option("--revision", default=None, help="Print this resourceVersion of the object in full.")
def history(args: tuple[str, ...], namespace: str, revision: str | None) -> None:
    """Every version of an object still in the log (TYPE NAME or TYPE/NAME): when, who, and what changed."""
    info, name = _named(kind_and_name, args)
    _run(_history(info, name, namespace, revision))


async def _history(info: KindInfo, name: str, namespace: str, revision: str | None) -> int:
    client = _client()
    await client.connect()
    key = f"{namespace}/{name}" if info.namespaced else name
    found = await versions(client, client.topics.desired(info.plural), key)
    if not found:
        click.echo(f'Error from server (NotFound): no history of {_resource_name(info)} "{name}"', err=True)
        return 1
    if revision is not None:
        chosen = [v.obj for v in found if v.obj and v.obj["metadata"].get("resourceVersion") == revision]
        if not chosen:
            click.echo(f"error: no revision {revision} of {_ref(info, name)}", err=True)
            return 1
        click.echo(to_yaml([redacted(o) for o in chosen]))  # a Secret's values only by `get -o yaml`
        return 0
    headers = ["REVISION", "TIME", "CHANGE", "BY", "GENERATION", "WHAT CHANGED"]
    click.echo(table(headers, history_rows(found)))
    return 0
