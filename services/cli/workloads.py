"""`kafkube scale` and `kafkube rollout status|history|undo|restart|pause|resume`:
kubectl's workload commands. Writes are WriteRequests on `kafkube.requests`
(PATCH, or UPDATE at the read resourceVersion for undo) whose answer is awaited by
request id; reads are snapshots of the desired and observed topics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import click

from schemas.records import Op, WriteRequest
from schemas.registry import KindInfo, NoKindMatch
from schemas.rollout import HASH_LABEL, REVISION, equal_ignoring_hash
from services.cli import daemonset_rollout, statefulset_rollout
from services.cli.resource_args import ResourceArgsError, kind_and_name
from services.cli.client import Answer, Client
from services.cli.config import cli_settings

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
SCALABLE = ("Deployment", "ReplicaSet", "ReplicationController", "StatefulSet")
ROLLOUT = ("Deployment", "StatefulSet", "DaemonSet")  # status, history, undo, restart
HISTORY_BY_REVISIONS = ("StatefulSet", "DaemonSet")  # history in ControllerRevisions
VIEWERS = {"StatefulSet": statefulset_rollout.status_message, "DaemonSet": daemonset_rollout.status_message}


def _client() -> Client:
    return Client(cli_settings(connect_timeout_s=10))


def _target(args: tuple[str, ...], *, kinds: tuple[str, ...] = ("Deployment",)) -> tuple[KindInfo, str]:
    """`deployment/web` or `deployment web`."""
    try:
        info, name = kind_and_name(args)
    except (ResourceArgsError, NoKindMatch) as exc:
        raise click.UsageError(str(exc)) from None
    if info.kind not in kinds:
        raise click.UsageError(f"{info.plural} are not supported here (only {', '.join(kinds)})")
    return info, name


def _ref(info: KindInfo, name: str) -> str:
    return f"{info.kind.lower()}{'.' + info.group if info.group else ''}/{name}"


def _run(coro: Any) -> None:
    from services.cli.main import _run as run  # the one place errors become exit codes

    run(coro)


async def write(client: Client, info: KindInfo, namespace: str, name: str, *, op: Op, body: dict[str, Any],
                expected_rv: str | None = None, timeout_s: float = 30.0) -> Answer | None:
    """Publish one request and wait for the API's answer (by request id)."""
    request = WriteRequest(op=op, apiVersion=info.api_version, kind=info.kind, namespace=namespace, name=name,
                           body=body, expectedResourceVersion=expected_rv, writer="kafkube-cli")
    return await client.request(request, timeout_s=timeout_s)


def _report(answer: Answer | None, what: str, verb: str) -> int:
    if answer is None:
        click.echo(f"error: timed out waiting for the answer to {what}", err=True)
        return 1
    if answer.reason == "Rejected":
        click.echo(f"Error from server ({answer.status_reason or 'Invalid'}): {answer.message}", err=True)
        return 1
    click.echo(f"{what} {verb}")
    return 0


async def _get(client: Client, info: KindInfo, namespace: str, name: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    desired, observed = await client.snapshot(info.plural)
    key = f"{namespace}/{name}"
    return desired.get(key), (observed.get(key) or {}).get("status") or {}


def _not_found(info: KindInfo, name: str) -> int:
    plural = f"{info.plural}.{info.group}" if info.group else info.plural
    click.echo(f'Error from server (NotFound): {plural} "{name}" not found', err=True)
    return 1


# -- scale ------------------------------------------------------------------------------------
@click.command()
@click.argument("args", nargs=-1, required=True)
@click.option("--replicas", type=click.IntRange(min=0), required=True)
@click.option("-n", "--namespace", default="default")
@click.option("--timeout", default=30.0, show_default=True)
def scale(args: tuple[str, ...], replicas: int, namespace: str, timeout: float) -> None:
    """Set a new size for a Deployment, ReplicaSet, ReplicationController or StatefulSet."""
    info, name = _target(args, kinds=SCALABLE)
    _run(_patch(info, namespace, name, {"spec": {"replicas": replicas}}, "scaled", timeout))


async def _patch(info: KindInfo, namespace: str, name: str, body: dict[str, Any], verb: str, timeout: float) -> int:
    client = _client()
    await client.connect()
    answer = await write(client, info, namespace, name, op=Op.PATCH, body=body, timeout_s=timeout)
    if answer is not None and answer.status_reason == "NotFound":
        return _not_found(info, name)
    return _report(answer, _ref(info, name), verb)


# -- rollout ----------------------------------------------------------------------------------
@click.group()
def rollout() -> None:
    """Manage the rollout of a Deployment."""


def _rollout_patch(command: Callable[..., None]) -> click.Command:
    """A `rollout` subcommand that patches TYPE/NAME: `-n`, `--timeout` (restart, pause,
    resume)."""
    command = click.option("--timeout", default=30.0, show_default=True)(command)
    command = click.option("-n", "--namespace", default="default")(command)
    command = click.argument("args", nargs=-1, required=True)(command)
    return rollout.command()(command)


@rollout.command()
@click.argument("args", nargs=-1, required=True)
@click.option("-n", "--namespace", default="default")
@click.option("--timeout", default=0.0, help="Seconds to wait (0: forever).")
@click.option("-w", "--watch", type=bool, default=True, show_default=True)
def status(args: tuple[str, ...], namespace: str, timeout: float, watch: bool) -> None:
    """Watch the rollout until it completes (exit 1 when it exceeds its progress deadline)."""
    info, name = _target(args, kinds=ROLLOUT)
    _run(_status(info, namespace, name, timeout, watch))


def status_message(obj: dict[str, Any], status: dict[str, Any]) -> tuple[str, bool, bool]:
    """kubectl's DeploymentStatusViewer: (message, done, failed)."""
    name = obj["metadata"]["name"]
    spec = obj.get("spec") or {}
    if int(obj["metadata"].get("generation") or 0) > int(status.get("observedGeneration") or 0):
        return "Waiting for deployment spec update to be observed...", False, False
    for cond in status.get("conditions") or ():
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return f'deployment "{name}" exceeded its progress deadline', False, True
    replicas = int(spec.get("replicas", 1))
    updated, total = int(status.get("updatedReplicas") or 0), int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    prefix = f'Waiting for deployment "{name}" rollout to finish: '
    if updated < replicas:
        return f"{prefix}{updated} out of {replicas} new replicas have been updated...", False, False
    if total > updated:
        return f"{prefix}{total - updated} old replicas are pending termination...", False, False
    if available < updated:
        return f"{prefix}{available} of {updated} updated replicas are available...", False, False
    return f'deployment "{name}" successfully rolled out', True, False


async def _status(info: KindInfo, namespace: str, name: str, timeout: float, watch: bool) -> int:
    client = _client()
    await client.connect()
    key = f"{namespace}/{name}"
    view = client.watch(info.plural)
    changed = asyncio.Event()
    view.add_handler(lambda change: changed.set() if change.key == key else None)
    deadline = time.monotonic() + timeout if timeout else None
    last = None
    async with view:
        await view.wait_synced()
        while True:
            obj = view.get(client.topics.desired(info.plural), key)
            if obj is None:
                return _not_found(info, name)
            observed = view.get(client.topics.observed(info.plural), key) or {}
            viewer = VIEWERS.get(info.kind, status_message)
            message, done, failed = viewer(obj, observed.get("status") or {})
            if message != last:
                click.echo(message, err=failed)
                last = message
            if done or failed or not watch:
                return 1 if failed else 0
            changed.clear()
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                click.echo("error: timed out waiting for the condition", err=True)
                return 1
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except asyncio.TimeoutError:
                continue


async def _owned_replicasets(client: Client, deployment: dict[str, Any]) -> dict[int, dict[str, Any]]:
    desired, _ = await client.snapshot("replicasets")
    uid = deployment["metadata"].get("uid")
    out = {}
    for rs in desired.values():
        refs = rs["metadata"].get("ownerReferences") or []
        if any(r.get("uid") == uid and r.get("controller") for r in refs):
            try:
                out[int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))] = rs
            except ValueError:
                continue
    return out


@rollout.command()
@click.argument("args", nargs=-1, required=True)
@click.option("-n", "--namespace", default="default")
@click.option("--revision", type=int, default=0)
def history(args: tuple[str, ...], namespace: str, revision: int) -> None:
    """List the revisions of a Deployment or StatefulSet (REVISION, CHANGE-CAUSE)."""
    info, name = _target(args, kinds=ROLLOUT)
    _run(_history(info, namespace, name, revision))


async def _history(info: KindInfo, namespace: str, name: str, revision: int) -> int:
    client = _client()
    await client.connect()
    obj, _ = await _get(client, info, namespace, name)
    if obj is None:
        return _not_found(info, name)
    revisions = await _revisions(client, info, obj)
    if revision:
        rs = revisions.get(revision)
        if rs is None:
            click.echo(f"error: unable to find the specified revision {revision}", err=True)
            return 1
        import yaml
        click.echo(f"{_ref(info, name)} with revision #{revision}")
        click.echo(yaml.safe_dump({"Pod Template": _template_of(info, rs)}, sort_keys=False).rstrip())
        return 0
    if not revisions and info.kind in HISTORY_BY_REVISIONS:
        click.echo("No rollout history found.")
        return 0
    click.echo(f"{_ref(info, name)} ")
    rows = [(str(n), statefulset_rollout.change_cause(rs)) for n, rs in sorted(revisions.items()) if n]
    width = max([len("REVISION")] + [len(r) for r, _ in rows])
    click.echo(f"{'REVISION'.ljust(width)}  CHANGE-CAUSE")
    for n, cause in rows:
        click.echo(f"{n.ljust(width)}  {cause}")
    click.echo("")
    return 0


async def _revisions(client: Client, info: KindInfo, obj: dict[str, Any]) -> dict[int, Any]:
    """A Deployment's ReplicaSets, a StatefulSet's ControllerRevisions, by revision number."""
    if info.kind not in HISTORY_BY_REVISIONS:
        return await _owned_replicasets(client, obj)
    desired, _ = await client.snapshot("controllerrevisions")
    return statefulset_rollout.owned_revisions(desired.values(), obj["metadata"].get("uid"))


def _template_of(info: KindInfo, revision: dict[str, Any]) -> dict[str, Any]:
    return statefulset_rollout.template_of(revision) if info.kind in HISTORY_BY_REVISIONS else _template(revision)


def _template(rs: dict[str, Any]) -> dict[str, Any]:
    """The ReplicaSet's pod template without its pod-template-hash label."""
    template = dict((rs.get("spec") or {}).get("template") or {})
    meta = dict(template.get("metadata") or {})
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != HASH_LABEL}
    meta["labels"] = labels
    template["metadata"] = meta
    return template


@rollout.command()
@click.argument("args", nargs=-1, required=True)
@click.option("-n", "--namespace", default="default")
@click.option("--to-revision", type=int, default=0, help="Revision to roll back to (0: the previous one).")
@click.option("--timeout", default=30.0, show_default=True)
def undo(args: tuple[str, ...], namespace: str, to_revision: int, timeout: float) -> None:
    """Roll back to a previous revision: its ReplicaSet's (ControllerRevision's) template becomes the
    Deployment's (StatefulSet's)."""
    info, name = _target(args, kinds=ROLLOUT)
    _run(_undo(info, namespace, name, to_revision, timeout))


async def _undo(info: KindInfo, namespace: str, name: str, to_revision: int, timeout: float) -> int:
    client = _client()
    await client.connect()
    obj, _ = await _get(client, info, namespace, name)
    if obj is None:
        return _not_found(info, name)
    revisions = await _revisions(client, info, obj)
    if info.kind in HISTORY_BY_REVISIONS:
        wanted, problem = statefulset_rollout.undo_target(revisions, to_revision)
        if problem is not None:
            click.echo(f"error: {problem}", err=True)
            return 1
    else:
        current = max(revisions, default=0)
        wanted = to_revision or max((n for n in revisions if n != current), default=0)
        if wanted not in revisions or not wanted:
            message = f"unable to find specified revision {to_revision} in history" if to_revision \
                else "no rollout history found for deployment \"" + name + "\""
            click.echo(f"error: {message}", err=True)
            return 1
    template = _template_of(info, revisions[wanted])
    if equal_ignoring_hash(template, (obj.get("spec") or {}).get("template") or {}):
        click.echo(f"{_ref(info, name)} skipped rollback (current template already matches revision {wanted})")
        return 0
    body = {**obj, "spec": {**obj["spec"], "template": template}}
    answer = await write(client, info, namespace, name, op=Op.UPDATE, body=body,
                         expected_rv=obj["metadata"].get("resourceVersion"), timeout_s=timeout)
    return _report(answer, _ref(info, name), "rolled back")


@_rollout_patch
def restart(args: tuple[str, ...], namespace: str, timeout: float) -> None:
    """Restart every pod by a rollout (sets the template annotation kubectl.kubernetes.io/restartedAt)."""
    info, name = _target(args, kinds=ROLLOUT)
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}}
    _run(_patch(info, namespace, name, body, "restarted", timeout))


@_rollout_patch
def pause(args: tuple[str, ...], namespace: str, timeout: float) -> None:
    """Pause the rollout: template changes wait; scaling still applies."""
    info, name = _target(args)
    _run(_patch(info, namespace, name, {"spec": {"paused": True}}, "paused", timeout))


@_rollout_patch
def resume(args: tuple[str, ...], namespace: str, timeout: float) -> None:
    """Resume a paused rollout."""
    info, name = _target(args)
    _run(_patch(info, namespace, name, {"spec": {"paused": None}}, "resumed", timeout))
