"""Workload controllers end to end on the real broker, with hollow kubelets: a
Deployment rolls out, updates, rolls back and scales through the CLI; the
controller manager is SIGKILLed mid scale-up and never makes an extra pod; two
controller managers share the work and one finishes a rollout the other began."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from services.runtime.config import Settings
from services.runtime.informer import Change, Informer
from services.runtime.topics import Topics
from tests.integration.kafkit import ServiceProcess, cli, desired, read_all, requests_decided, wait_for

pytestmark = pytest.mark.kafka
REVISION = "deployment.kubernetes.io/revision"


def deployment(replicas: int, image: str = "nginx:1", *, surge: Any = "25%", unavailable: Any = "25%") -> bytes:
    return yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": image}]}}}}).encode()


def replicaset(replicas: int) -> bytes:
    return yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "burst", "namespace": "default"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "burst"}},
                 "template": {"metadata": {"labels": {"app": "burst"}},
                              "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}).encode()


class Watch:
    """A live view of desired/observed pods and replicasets, with samplers."""

    def __init__(self, settings: Settings) -> None:
        t = Topics(settings.topic_prefix)
        self.pods_t, self.opods_t = t.desired("pods"), t.observed("pods")
        self.rs_t, self.ors_t = t.desired("replicasets"), t.observed("replicasets")
        self.deploy_t, self.odeploy_t = t.desired("deployments"), t.observed("deployments")
        self.view: Informer[Any] = Informer(settings, [self.pods_t, self.opods_t, self.rs_t, self.ors_t,
                                                       self.deploy_t, self.odeploy_t], name="test-watch")
        self.names: set[str] = set()
        self.samples: list[tuple[str, int]] = []  # (app, its active pods) after each pod change
        self.errors: list[Exception] = []  # the informer swallows a handler's errors: not here
        self.view.add_handler(self._changed)

    async def __aenter__(self) -> "Watch":
        await self.view.start()
        await self.view.wait_synced()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.view.stop()
        self.check()

    def _changed(self, change: Change[Any]) -> None:
        """Only collects; the test body asserts on what was collected."""
        try:
            if change.topic != self.pods_t:
                return
            if change.new is not None:
                self.names.add(change.key)
            for app in {self._app(change.old), self._app(change.new)}:
                if app is not None:
                    self.samples.append((app, len(self.active(app))))
        except Exception as exc:
            self.errors.append(exc)

    def check(self) -> None:
        """Fail if the handler failed: the samples would be missing what it could not count."""
        if self.errors:
            raise AssertionError(f"the watch's handler failed {len(self.errors)} times") from self.errors[0]

    def max_active(self, app: str) -> int:
        """The most pods of `app` (not terminating) seen at once."""
        self.check()
        counts = [n for a, n in self.samples if a == app]
        assert counts, f"no pod of {app} was ever seen"
        return max(counts)

    @staticmethod
    def _app(pod: Any) -> str | None:
        return ((pod or {}).get("metadata", {}).get("labels") or {}).get("app")

    def active(self, app: str) -> list[dict[str, Any]]:
        return [p for p in self.view.items(self.pods_t).values()
                if self._app(p) == app and not p["metadata"].get("deletionTimestamp")]

    def running(self, app: str) -> int:
        count = 0
        for p in self.active(app):
            observed = self.view.get(self.opods_t, f"default/{p['metadata']['name']}") or {}
            if (observed.get("metadata") or {}).get("uid") == p["metadata"]["uid"] \
                    and (observed.get("status") or {}).get("phase") == "Running":
                count += 1
        return count

    def replicaset(self, name: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.view.get(self.rs_t, f"default/{name}")
        return found

    def rs_status(self, name: str) -> dict[str, Any]:
        observed = self.view.get(self.ors_t, f"default/{name}") or {}
        status: dict[str, Any] = observed.get("status") or {}
        return status

    def replicasets(self) -> dict[int, dict[str, Any]]:
        return {int(rs["metadata"].get("annotations", {}).get(REVISION, 0)): rs
                for rs in self.view.items(self.rs_t).values() if rs["metadata"]["name"].startswith("web-")}

    async def until(self, what: Callable[[], bool], timeout: float, message: str) -> None:
        deadline = time.monotonic() + timeout
        while not what():
            assert time.monotonic() < deadline, f"timed out: {message}"
            await asyncio.sleep(0.2)


def start_cluster(services: Callable[..., ServiceProcess], *, controllers: int = 1) -> list[ServiceProcess]:
    services("api")
    services("scheduler")
    services("kubelet", "--node", "n1", "--node", "n2", "--runtime", "hollow")
    return [services("controllers") for _ in range(controllers)]


async def test_deployment_rollout_update_undo_and_scale(settings: Settings, services: Callable[..., ServiceProcess]) -> None:
    start_cluster(services)
    async with Watch(settings) as w:
        applied = await asyncio.to_thread(cli, settings, "apply", "-f", "-", stdin=deployment(20))
        assert applied.returncode == 0, applied.stderr
        await w.until(lambda: w.running("web") == 20, 120, "20 pods running")
        status = await asyncio.to_thread(cli, settings, "rollout", "status", "deployment/web", "--timeout", "120",
                                         timeout=180)
        assert status.returncode == 0, status.stderr
        assert 'deployment "web" successfully rolled out' in status.stdout

        applied = await asyncio.to_thread(cli, settings, "apply", "-f", "-", stdin=deployment(20, "nginx:2"))
        assert applied.returncode == 0, applied.stderr
        status = await asyncio.to_thread(cli, settings, "rollout", "status", "deployment/web", "--timeout", "120",
                                         timeout=180)
        assert status.returncode == 0, status.stdout + status.stderr
        assert status.stdout.strip().endswith('deployment "web" successfully rolled out')
        await w.until(lambda: sorted(w.replicasets()) == [1, 2] and w.replicasets()[1]["spec"]["replicas"] == 0,
                      120, "old replica set at 0")
        assert w.max_active("web") <= 25  # 20 + 25% surge

        history = await asyncio.to_thread(cli, settings, "rollout", "history", "deployment/web")
        assert "REVISION  CHANGE-CAUSE" in history.stdout and "2         <none>" in history.stdout

        undo = await asyncio.to_thread(cli, settings, "rollout", "undo", "deployment/web")
        assert undo.returncode == 0 and "deployment.apps/web rolled back" in undo.stdout, undo.stderr
        await w.until(lambda: 3 in w.replicasets() and w.replicasets()[3]["spec"]["replicas"] == 20, 120, "revision 3")
        template = w.replicasets()[3]["spec"]["template"]["spec"]["containers"][0]["image"]
        assert template == "nginx:1"
        status = await asyncio.to_thread(cli, settings, "rollout", "status", "deployment/web", "--timeout", "120",
                                         timeout=180)
        assert status.returncode == 0, status.stdout + status.stderr

        scaled = await asyncio.to_thread(cli, settings, "scale", "deployment/web", "--replicas=5")
        assert scaled.stdout.strip() == "deployment.apps/web scaled", scaled.stderr
        await w.until(lambda: len(w.active("web")) == 5 and w.running("web") == 5, 120, "5 pods")
        table = await asyncio.to_thread(cli, settings, "get", "deploy")
        assert table.stdout.split("\n")[1].split()[:4] == ["web", "5/5", "5", "5"], table.stdout


async def test_killed_mid_scale_up_never_makes_an_extra_pod(settings: Settings,
                                                            services: Callable[..., ServiceProcess]) -> None:
    """The controller asks for 30 pods while the API is down (the creates wait on
    kafkube.requests), is SIGKILLed, and restarts with the API: its fresh cache shows
    none or some of them, so it asks again — same names, AlreadyExists, 30 pods.

    The API goes down only once every request before it is decided (the nodes'
    registrations included): the controller's takeover fence waits for the API to
    apply what is already on kafkube.requests, so a registration still queued
    there would hold the controller back until the API returns."""
    api = services("api")
    services("scheduler")
    services("kubelet", "--node", "n1", "--node", "n2", "--runtime", "hollow")
    async with Watch(settings) as w:
        applied = await asyncio.to_thread(cli, settings, "apply", "-f", "-", stdin=replicaset(30))
        assert applied.returncode == 0, applied.stderr
        await wait_for("both nodes registered", lambda: _registered(settings, {"n1", "n2"}))
        await requests_decided(settings)
        api.kill()
        manager = services("controllers")
        requests = Topics(settings.topic_prefix).requests
        deadline = time.monotonic() + 120
        while len([r for r in await read_all(settings, requests) if b'"kind":"Pod"' in (r.value or b"")]) < 30:
            assert time.monotonic() < deadline, "the controller never asked for the pods"
            await asyncio.sleep(0.5)
        manager.kill()
        assert len(w.active("burst")) == 0  # nothing was created yet: the scale-up is in flight
        services("api")
        services("controllers")
        await w.until(lambda: w.running("burst") == 30, 180, "30 pods running")
        # the restarted controller has seen all 30 (it reports them) and acts no more ...
        await w.until(lambda: w.rs_status("burst").get("replicas") == 30, 120, "the status counts 30")
        await requests_decided(settings)  # ... and every create asked for has been decided
        await w.view.barrier()
        assert len(w.active("burst")) == 30
        assert w.max_active("burst") == 30 and len(w.names) == 30, sorted(w.names)


async def _registered(settings: Settings, nodes: set[str]) -> bool:
    return nodes <= set(await desired(settings, "nodes"))


async def test_two_managers_one_killed_during_a_rolling_update(settings: Settings,
                                                                services: Callable[..., ServiceProcess]) -> None:
    first, second = start_cluster(services, controllers=2)
    async with Watch(settings) as w:
        applied = await asyncio.to_thread(cli, settings, "apply", "-f", "-", stdin=deployment(10, surge=2, unavailable=1))
        assert applied.returncode == 0, applied.stderr
        await w.until(lambda: w.running("web") == 10, 120, "10 pods running")
        applied = await asyncio.to_thread(cli, settings, "apply", "-f", "-",
                                          stdin=deployment(10, "nginx:2", surge=2, unavailable=1))
        assert applied.returncode == 0, applied.stderr
        await w.until(lambda: 2 in w.replicasets(), 120, "new replica set")
        first.kill()
        status = await asyncio.to_thread(cli, settings, "rollout", "status", "deployment/web", "--timeout", "150",
                                         timeout=210)
        assert status.returncode == 0, status.stdout + status.stderr
        assert w.max_active("web") <= 12
        assert w.replicasets()[1]["spec"]["replicas"] == 0 and second.alive()


async def test_delete_cascade_orphan_keeps_pods_background_removes_them(
        settings: Settings, services: Callable[..., ServiceProcess]) -> None:
    start_cluster(services)
    async with Watch(settings) as w:
        for name in ("keep", "drop"):
            body = replicaset(3).replace(b"burst", name.encode())
            assert (await asyncio.to_thread(cli, settings, "apply", "-f", "-", stdin=body)).returncode == 0
        await w.until(lambda: w.running("keep") == 3 and w.running("drop") == 3, 120, "6 pods running")
        orphaned = await asyncio.to_thread(cli, settings, "delete", "rs", "keep", "--cascade=orphan")
        assert orphaned.stdout.strip() == 'replicaset.apps "keep" deleted', orphaned.stderr
        removed = await asyncio.to_thread(cli, settings, "delete", "rs", "drop")
        assert removed.returncode == 0, removed.stderr
        await w.until(lambda: not w.active("drop"), 120, "drop's pods gone")
        # keep is gone only after its pods were orphaned (the orphan finalizer) ...
        await w.until(lambda: not w.replicaset("keep"), 120, "replica set keep gone")
        await requests_decided(settings)  # ... and whatever was asked after, decided
        await w.view.barrier()
        kept = w.active("keep")
        assert len(kept) == 3 and all(not p["metadata"].get("ownerReferences") for p in kept), kept
