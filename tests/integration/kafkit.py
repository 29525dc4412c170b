"""Test helpers that talk to the real broker: publish manifests, collect the API's
answers, snapshot state topics, and run `kafkube serve` as a real process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from uuid import uuid4
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, BinaryIO, Protocol

import orjson
import psutil
from aiokafka import ConsumerRecord, TopicPartition

from schemas.records import DOCUMENT_ANNOTATION, REQUEST_ID_ANNOTATION, REQUEST_ID_HEADER, OP_HEADER
from services.runtime.bus import make_consumer, make_producer, partition_for, partitions_of
from services.runtime.buskeys import bus_trust
from services.runtime.config import Settings
from services.runtime.identity import token_headers
from services.runtime.informer import Informer
from services.runtime.topics import Topics

KAFKUBE = str(Path(sys.executable).with_name("kafkube"))


def env_for(settings: Settings, *, node: str | None = None) -> dict[str, str]:
    """The environment of a `kafkube` child: this session's bus keys (tests/conftest.py
    `bus_keys`: the control plane's file), or with `node` that node's file only."""
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
           "KAFKUBE_TOPIC_PREFIX": settings.topic_prefix,
           "KAFKUBE_PARTITIONS": str(settings.partitions)}
    if node is not None and env.get("KAFKUBE_BUS_KEYS_FILE"):
        env["KAFKUBE_BUS_KEYS_FILE"] = str(node_keys(Path(env["KAFKUBE_BUS_KEYS_FILE"]).parent, node))
    return env


SERVICE_IDENTITIES = {"scheduler": "scheduler", "controllers": "controller-manager",
                      "controller-manager": "controller-manager", "endpoints": "endpoints", "proxy": "proxy",
                      "apiserver": "apiserver", "ingress": "ingress"}
"""The token file (tokens/<name>.token of the session's credentials) each service presents;
others present the admin's (the API's own requests need none; `serve all` is the cluster)."""


def credentials_dir() -> Path:
    """This session's `kafkube init` directory (tests/conftest.py `cluster_tokens`)."""
    return Path(os.environ["KAFKUBE_TOKEN_AUTH_FILE"]).parent


def admin_token() -> str:
    return (credentials_dir() / "tokens" / "admin.token").read_text().strip()


def with_identity(env: dict[str, str], service: str, args: tuple[str, ...]) -> dict[str, str]:
    """`env` with the service's own token; a kubelet's nodes get theirs (added to the
    API's token file on first use: the API reads the file again on an unknown token)."""
    from services.cli.credentials import init_credentials

    identity = SERVICE_IDENTITIES.get(service)
    if identity:
        env = {**env, "KAFKUBE_TOKEN_FILE": str(credentials_dir() / "tokens" / f"{identity}.token")}
    nodes = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--node"]
    if service == "kubelet" and nodes:
        init_credentials(credentials_dir(), nodes=nodes, bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"])
    return env


def signed_as(settings: Settings, identity: str, topic: str, key: str, value: bytes | None) -> list[tuple[str, bytes]]:
    """Headers signing an observed record as `identity` (this session's keys): for tests
    that play a kubelet or a controller (services/runtime/trust.py says who may write what)."""
    return bus_trust(settings).observed_signer(identity).headers(topic, key, value)


def node_keys(directory: Path, node: str) -> Path:
    """DIR/node-<node>.json, written by `kafkube keys init DIR --node NODE` on first use."""
    path = directory / f"node-{node}.json"
    if not path.exists():
        subprocess.run([KAFKUBE, "keys", "init", str(directory), "--node", node], check=True,
                       capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
    return path


def _lone_node(name: str, args: tuple[str, ...]) -> str | None:
    """The node of `serve kubelet --node NAME` (one node: it gets that node's keys only)."""
    nodes = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--node"]
    return nodes[0] if name == "kubelet" and len(nodes) == 1 and "--nodes" not in args else None


class ServiceProcess:
    """`kafkube serve NAME` as a child process in its own process group, logs in a file,
    killable. `stop` asks it to drain (SIGTERM) and kills the whole group if it does not."""

    STOP_GRACE_S = 30.0

    def __init__(self, settings: Settings, name: str, log_dir: Path, *args: str) -> None:
        self.settings, self.name, self.args = settings, name, args
        self.log_path = log_dir / f"{name}-{time.monotonic_ns()}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_file: BinaryIO | None = None

    def start(self) -> "ServiceProcess":
        self.log_file = self.log_path.open("wb")
        env = with_identity(env_for(self.settings, node=_lone_node(self.name, self.args)), self.name, self.args)
        self.proc = subprocess.Popen([KAFKUBE, "serve", self.name, *self.args], env=env,
                                     stdout=self.log_file, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    def kill(self, sig: int = signal.SIGKILL) -> int:
        """Send `sig` (SIGKILL: to the whole process group) and wait for the exit code."""
        assert self.proc is not None
        if sig == signal.SIGKILL:
            self._kill_group()
        else:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=30)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM, up to STOP_GRACE_S to drain, then SIGKILL; the group's stragglers too."""
        if self.proc is not None:
            if self.alive():
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=self.STOP_GRACE_S)
                except subprocess.TimeoutExpired:
                    print(f"{self.name} did not stop {self.STOP_GRACE_S}s after SIGTERM: SIGKILL")
                    self._kill_group()
                    self.proc.wait(timeout=30)
            self._kill_group()  # whatever the leader left behind in its group
        if self.log_file is not None:
            self.log_file.close()

    def _kill_group(self) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):  # the group is empty: all gone
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: pgid == pid


def cli(settings: Settings, *args: str, stdin: bytes | None = None, timeout: float = 60,
        extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KAFKUBE, *args], env={**env_for(settings), **(extra_env or {})},
                          input=stdin.decode() if stdin else None, capture_output=True, text=True, timeout=timeout)


async def publish(settings: Settings, payloads: list[bytes], *, op: str | None = None,
                  request_ids: list[str] | None = None, headers: list[tuple[str, bytes]] | None = None,
                  keys: list[str] | None = None) -> list[tuple[int, int]]:
    """Send each payload to kafkube.manifests; return (partition, offset) of each."""
    topic = Topics(settings.topic_prefix).manifests
    places = []
    async with make_producer(settings) as producer:
        futures = []
        for i, payload in enumerate(payloads):
            hs = [*token_headers(settings), *(headers or [])]
            if op:
                hs.append((OP_HEADER, op.encode()))
            if request_ids:
                hs.append((REQUEST_ID_HEADER, request_ids[i].encode()))
            key = keys[i].encode() if keys else None
            futures.append(await producer.send(topic, key=key, value=payload, headers=hs))
        for future in futures:
            meta = await future
            places.append((meta.partition, meta.offset))
    return places


async def read_all(settings: Settings, topic: str, *, timeout: float = 30.0) -> list[ConsumerRecord[bytes, bytes]]:
    """Every committed record of a topic (read_committed), as aiokafka records: at least
    everything up to the end offsets taken when called. Raises TimeoutError, never returns
    part of it, if those ends are not reached within `timeout` seconds."""
    consumer = make_consumer(settings)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in sorted(await partitions_of(consumer, topic))]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        return await _read_to(consumer, end, timeout=timeout)
    finally:
        await consumer.stop()


class Fetching(Protocol):
    """What `_read_to` uses of an AIOKafkaConsumer (a test stands in for it)."""

    async def getmany(self, *, timeout_ms: int) -> dict[TopicPartition, list[Any]]: ...
    async def position(self, tp: TopicPartition) -> int: ...
    def last_poll_timestamp(self, tp: TopicPartition) -> int | None: ...
    def last_stable_offset(self, tp: TopicPartition) -> int | None: ...


async def _read_to(consumer: Fetching, end: dict[TopicPartition, int], *,
                   timeout: float) -> list[ConsumerRecord[bytes, bytes]]:
    """Read from the assigned partitions until each one's position reaches `end`.

    A partition whose last offset is a transaction marker can leave the position one short
    of its end (aiokafka #911). Such a partition counts as done only on evidence: a fetch
    at that position answered after we saw it stuck there (so the fetch was *for* that
    offset), with a last stable offset past it, and the next poll still returned nothing."""
    records: list[ConsumerRecord[bytes, bytes]] = []
    pending = set(end)
    stuck_since: dict[TopicPartition, int] = {}  # wall-clock ms when first seen one short
    answered: dict[TopicPartition, tuple[int | None, int | None]] = {}  # last fetch: when, LSO
    batch: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = {}
    deadline = time.monotonic() + timeout
    while True:
        for tp in list(pending):
            position = await consumer.position(tp)
            if position >= end[tp]:
                pending.discard(tp)
            elif position == end[tp] - 1 and tp in answered and not batch.get(tp):
                polled, stable = answered[tp]
                if tp not in stuck_since:
                    stuck_since[tp] = int(1000 * time.time())
                elif polled is not None and polled > stuck_since[tp] and stable is not None and stable >= end[tp]:
                    pending.discard(tp)  # nothing readable at end - 1: a marker
            else:
                stuck_since.pop(tp, None)
        if not pending:
            return records
        if time.monotonic() > deadline:
            where = {f"{tp.topic}[{tp.partition}]": f"{await consumer.position(tp)}/{end[tp]}"
                     for tp in sorted(pending)}
            raise TimeoutError(f"read {len(records)} records in {timeout}s, not to the end: {where}")
        answered = {tp: (consumer.last_poll_timestamp(tp), consumer.last_stable_offset(tp)) for tp in pending}
        batch = await consumer.getmany(timeout_ms=200)
        for rs in batch.values():
            records += rs


async def answers(settings: Settings, *, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Every event on kafkube.events."""
    records = await read_all(settings, Topics(settings.topic_prefix).events, timeout=timeout)
    return [orjson.loads(r.value) for r in records if r.value]


def answer_key(event: dict[str, Any]) -> tuple[str, str] | None:
    annotations = event.get("metadata", {}).get("annotations") or {}
    if REQUEST_ID_ANNOTATION not in annotations:
        return None
    return annotations[REQUEST_ID_ANNOTATION], annotations.get(DOCUMENT_ANNOTATION, "0")


async def wait_for_answers(settings: Settings, wanted: set[tuple[str, str]], *,
                           timeout: float = 60.0) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Poll the events topic until every wanted (request id, document) has an answer."""
    deadline = time.monotonic() + timeout
    while True:
        found: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for event in await answers(settings):
            key = answer_key(event)
            if key in wanted:
                found.setdefault(key, []).append(event)
        if set(found) >= wanted or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.5)


async def desired(settings: Settings, plural: str) -> dict[str, Any]:
    """The desired records of a kind, by key, as they stand now."""
    return await _compacted(settings, Topics(settings.topic_prefix).desired(plural))


async def observed(settings: Settings, plural: str) -> dict[str, Any]:
    """The status records of a kind, by key, as they stand now."""
    return await _compacted(settings, Topics(settings.topic_prefix).observed(plural))


async def _compacted(settings: Settings, topic: str) -> dict[str, Any]:
    view: Informer[Any] = Informer(settings, [topic], follow=False)
    async with view:
        await view.wait_synced()
        return dict(view.items(topic))


def eventually(check: Callable[[], Any], what: str, *, timeout_s: float = 90) -> Any:
    """Poll the blocking `check` every 0.5 s until it returns something truthy (returned);
    fail after `timeout_s`, naming `what` was awaited."""
    deadline = time.monotonic() + timeout_s
    while not (result := check()):
        assert time.monotonic() < deadline, f"{what} within {timeout_s:.0f} s"
        time.sleep(0.5)
    return result


async def wait_for(what: str, check: Callable[[], Awaitable[Any]], *, timeout: float = 120.0,
                   interval: float = 0.5) -> Any:
    """Poll the async `check` until it returns something truthy; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(interval)


async def requests_decided(settings: Settings, *, timeout: float = 120.0) -> None:
    """Positive evidence that every request written to kafkube.requests before the call has
    been decided: the API decides each partition in order, so once a marker ConfigMap on
    each partition is answered, everything before the markers has been decided too (and is
    in the desired topics; an Informer's `barrier()` then shows it)."""
    names: dict[int, str] = {}
    while len(names) < settings.partitions:
        name = f"marker-{uuid4().hex[:8]}"
        names.setdefault(partition_for(f"default/{name}", settings.partitions), name)
    ids = [uuid4().hex for _ in names]
    await publish(settings, [orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                                           "metadata": {"name": name, "namespace": "default"}})
                             for name in names.values()], request_ids=ids)
    found = await wait_for_answers(settings, {(rid, "0") for rid in ids}, timeout=timeout)
    if len(found) < len(ids):
        raise AssertionError(f"{len(ids) - len(found)} of the markers on kafkube.requests never answered")


def _kill_kubelets_of(node: str) -> None:
    for process in psutil.process_iter(["cmdline"]):
        command = process.info["cmdline"] or []
        if "kubelet" in command and node in command:
            with contextlib.suppress(psutil.Error):
                process.kill()
                process.wait(timeout=30)


FAST_KUBELET = {"KAFKUBE_HEARTBEAT_SECONDS": "1", "KAFKUBE_RELIST_SECONDS": "0.5", "KAFKUBE_RESYNC_SECONDS": "1",
                "KAFKUBE_CLUSTER_DNS": "off"}
"""A test kubelet's settings: quick heartbeats, relists and resyncs, no cluster DNS."""


@contextlib.contextmanager
def docker_kubelet(services: Callable[..., Any], monkeypatch: Any, env: dict[str, str], prefix: str,
                   control_plane: tuple[str, ...] = ("api", "scheduler", "controllers")) -> Iterator[str]:
    """`control_plane`, then one `serve kubelet --runtime docker` node named `<prefix>-<hex>`
    with FAST_KUBELET plus `env` set through the test's monkeypatch; yields the node's name
    and removes every container of the node at the end."""
    import secrets as random_names

    from services.kubelet.runtime.base import LABEL_NODE

    for key, value in {**FAST_KUBELET, **env}.items():
        monkeypatch.setenv(key, value)
    for name in control_plane:
        services(name)
    node = f"{prefix}-{random_names.token_hex(3)}"
    kubelet = services("kubelet", "--node", node, "--runtime", "docker")
    try:
        yield node
    finally:
        kubelet.stop()  # first, or it would recreate what is removed below
        _kill_kubelets_of(node)  # any the test started again (a restart)
        ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={LABEL_NODE}={node}"],
                             capture_output=True, text=True).stdout.split()
        if ids:
            subprocess.run(["docker", "rm", "-f", "-v", *ids], capture_output=True)


def get_json(settings: Settings, *args: str) -> Any:
    """`kafkube get ARGS -o json`, parsed; None when it failed or printed nothing."""
    done = cli(settings, "get", *args, "-o", "json")
    return orjson.loads(done.stdout) if done.returncode == 0 and done.stdout.strip() else None
