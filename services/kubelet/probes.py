"""Probe workers (I/O): one task per (running container, probe kind) runs exec,
httpGet or tcpSocket checks on the probe's schedule, counts them through
`ProbeCounter` and publishes the container's `Health`. The startup probe gates the
other two. Failures emit Unhealthy events with the kubelet's messages; a change of
verdict wakes the pod's worker, whose `plan` kills an unhealthy container. Owned by
the kubelet service; `sync` calls `ensure` on every pod sync."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Collection, Mapping
from typing import Any

import aiohttp

from schemas.pod import Container, Pod, Probe
from services.runtime.tasks import cancel_and_wait
from services.kubelet.emit import Emitter
from services.kubelet.probe_state import Health, ProbeCounter, ProbeKind, initial_health
from services.kubelet.runtime.base import ContainerInfo, ContainerRuntime
from services.runtime.logging import get_logger

log = get_logger(__name__)
KINDS: tuple[ProbeKind, ...] = ("startup", "liveness", "readiness")
LABEL = {"startup": "Startup", "liveness": "Liveness", "readiness": "Readiness"}


def probe_of(container: Container, kind: ProbeKind) -> Probe | None:
    return {"startup": container.startup_probe, "liveness": container.liveness_probe,
            "readiness": container.readiness_probe}[kind]


class ProbeManager:
    def __init__(self, runtime: ContainerRuntime, emitter: Emitter, wake: Callable[[str], None]) -> None:
        self._runtime, self._emitter, self._wake = runtime, emitter, wake
        self._tasks: dict[tuple[str, ProbeKind], asyncio.Task[None]] = {}
        self._health: dict[str, Health] = {}
        self._probed: dict[str, set[str]] = {}  # pod uid -> ids of its containers with health or probe tasks

    def health(self) -> Mapping[str, Health]:
        return self._health

    def unhealthy(self, ids: Collection[str]) -> set[str]:
        return {i for i in ids if not self._health.get(i, Health()).live}

    def ensure(self, pod: Pod, running: Collection[ContainerInfo], pod_ip: str | None) -> None:
        """Probe tasks for exactly the running app containers of this pod that have probes."""
        specs = {c.name: c for c in (pod.spec.containers if pod.spec else None) or []}
        wanted: set[str] = set()
        for info in running:
            spec = specs.get(info.name)
            if spec is None or info.role != "app":
                continue
            wanted.add(info.id)
            self._probed.setdefault(info.pod.uid, set()).add(info.id)
            if info.id not in self._health:
                self._health[info.id] = initial_health(has_startup=spec.startup_probe is not None,
                                                       has_readiness=spec.readiness_probe is not None)
            for kind in KINDS:
                probe = probe_of(spec, kind)
                if probe is not None and (info.id, kind) not in self._tasks:
                    task = asyncio.create_task(self._loop(pod, spec, info, kind, probe, pod_ip),
                                               name=f"probe-{kind}-{info.id[:12]}")
                    self._tasks[(info.id, kind)] = task
        self.forget_pod({i.pod.uid for i in running} | {(pod.metadata.uid if pod.metadata else None) or ""},
                        keep=wanted)

    def forget_pod(self, uids: Collection[str], *, keep: Collection[str] = ()) -> None:
        """Stop probing containers of these pods except `keep` (ids). Reads only these
        pods' containers (it runs at every sync of every pod of the node)."""
        for uid in uids:
            probed = self._probed.get(uid)
            if not probed:
                continue
            for cid in [c for c in probed if c not in keep]:
                for kind in KINDS:
                    if (task := self._tasks.pop((cid, kind), None)) is not None:
                        task.cancel()
                self._health.pop(cid, None)
                probed.discard(cid)
            if not probed:
                del self._probed[uid]

    async def close(self) -> None:
        await cancel_and_wait(self._tasks.values())
        self._tasks.clear()

    # -- one probe loop ------------------------------------------------------------------
    async def _loop(self, pod: Pod, spec: Container, info: ContainerInfo, kind: ProbeKind,
                    probe: Probe, pod_ip: str | None) -> None:
        period = probe.period_seconds or 10
        await asyncio.sleep(probe.initial_delay_seconds or 0)
        counter = ProbeCounter()
        while True:
            health = self._health.get(info.id)
            if health is None or (kind == "startup" and health.started):
                return
            if kind == "startup" or health.started:
                ok, output = await run_probe(self._runtime, probe, spec, info.id, pod_ip)
                counter = counter.record(ok, probe)
                if not ok:
                    await self._emitter.event(pod, "Unhealthy", f"{LABEL[kind]} probe failed: {output}",
                                              type_="Warning", container=spec.name)
                if self._apply(info, kind, counter.verdict):
                    return
            await asyncio.sleep(period)

    def _apply(self, info: ContainerInfo, kind: ProbeKind, verdict: bool | None) -> bool:
        """Publish a verdict; True when this probe has nothing left to do."""
        health = self._health.get(info.id)
        if health is None or verdict is None:
            return False
        if kind == "readiness":
            new = Health(health.started, verdict, health.live)
        elif kind == "startup":
            new = Health(True, health.ready, health.live) if verdict else Health(False, health.ready, False)
        else:
            new = Health(health.started, health.ready, verdict)
        if new != health:
            self._health[info.id] = new
            self._wake(info.pod.key)
        return kind != "readiness" and (not new.live or (kind == "startup" and new.started))


async def run_probe(runtime: ContainerRuntime, probe: Probe, spec: Container, container_id: str,
                    pod_ip: str | None) -> tuple[bool, str]:
    """(success, output) of one check."""
    timeout = float(probe.timeout_seconds or 1)
    try:
        if probe.exec is not None:
            result = await runtime.exec(container_id, list(probe.exec.command or []), timeout_s=timeout)
            return result.exit_code == 0, result.output.strip() or f"exit code {result.exit_code}"
        if probe.http_get is not None:
            return await _http(probe, spec, pod_ip, timeout)
        if probe.tcp_socket is not None:
            return await _tcp(probe, spec, pod_ip, timeout)
    except Exception as exc:  # a probe error is a failed probe, never a crash
        return False, f"{type(exc).__name__}: {exc}"
    return True, ""


def _port(value: Any, spec: Container) -> int:
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    for port in spec.ports or []:
        if port.name == value and port.container_port:
            return port.container_port
    raise ValueError(f"port {value!r} not found")


async def _http(probe: Probe, spec: Container, pod_ip: str | None, timeout: float) -> tuple[bool, str]:
    action = probe.http_get
    assert action is not None
    host = action.host or pod_ip or "127.0.0.1"
    scheme = (action.scheme or "HTTP").lower()
    url = f"{scheme}://{host}:{_port(action.port, spec)}{action.path or '/'}"
    headers = {"User-Agent": "kube-probe/1.31"} | {h.name: h.value for h in action.http_headers or []}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
            async with session.get(url, headers=headers, ssl=False, allow_redirects=True) as response:
                if 200 <= response.status < 400:
                    return True, ""
                return False, f"HTTP probe failed with statuscode: {response.status}"
    except TimeoutError:
        return False, f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'
    except aiohttp.ClientError as exc:
        return False, f'Get "{url}": {exc}'


async def _tcp(probe: Probe, spec: Container, pod_ip: str | None, timeout: float) -> tuple[bool, str]:
    action = probe.tcp_socket
    assert action is not None
    host = action.host or pod_ip or "127.0.0.1"
    port = _port(action.port, spec)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except TimeoutError:
        return False, f"dial tcp {host}:{port}: i/o timeout"
    except OSError as exc:
        return False, f"dial tcp {host}:{port}: connect: {exc.strerror or exc}"
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True, ""
