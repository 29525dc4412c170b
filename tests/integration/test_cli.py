"""The `kafkube` CLI against a running API: describe, events, -o yaml, -A, -w, and the
services' graceful stop on SIGTERM."""

from __future__ import annotations

import queue
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Callable

import pytest
import yaml

from services.runtime.config import Settings
from tests.integration.kafkit import KAFKUBE, ServiceProcess, cli, env_for

pytestmark = pytest.mark.kafka

CONFIG = """\
apiVersion: v1
kind: Namespace
metadata: {name: team-b}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: team-b, labels: {tier: web}}
data: {mode: fast, level: "3"}
"""


@pytest.fixture
def api(services: Callable[..., ServiceProcess]) -> ServiceProcess:
    return services("api")


def test_get_describe_and_events(settings: Settings, api: ServiceProcess, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    applied = cli(settings, "apply", "-f", str(tmp_path))
    assert applied.stdout.splitlines() == ["namespace/team-b created", "configmap/settings created"], applied.stderr

    as_yaml = yaml.safe_load(cli(settings, "get", "cm", "settings", "-n", "team-b", "-o", "yaml").stdout)
    assert as_yaml["data"] == {"mode": "fast", "level": "3"} and as_yaml["metadata"]["labels"] == {"tier": "web"}
    everywhere = cli(settings, "get", "configmaps", "-A").stdout.splitlines()
    assert everywhere[0].split() == ["NAMESPACE", "NAME", "DATA", "AGE"]
    assert ["team-b", "settings", "2"] in [line.split()[:3] for line in everywhere]
    nothing = cli(settings, "get", "configmaps")
    assert nothing.stdout == "" and "No resources found in default namespace." in nothing.stderr
    for selector, shown in (("tier=web", True), ("tier in (web,api)", True), ("tier", True), ("tier!=web", False),
                            ("!tier", False), ("tier=web,mode=fast", False)):
        listed = cli(settings, "get", "cm", "-n", "team-b", "-l", selector, "-o", "name")
        assert (listed.stdout.split() == ["configmap/settings"]) is shown, (selector, listed.stdout, listed.stderr)
    bad = cli(settings, "get", "cm", "-l", "tier in web")
    assert bad.returncode == 2 and "Invalid value for -l/--selector: unable to parse requirement" in bad.stderr, bad.stderr
    both = cli(settings, "get", "cm", "settings", "-l", "tier=web")
    assert both.returncode == 2 and "a resource selector may not be specified" in both.stderr, both.stderr
    by_slash = cli(settings, "get", "cm/settings", "-n", "team-b", "-o", "name")
    assert by_slash.stdout.split() == ["configmap/settings"], by_slash.stderr
    unknown = cli(settings, "get", "gizmos/x")
    assert (unknown.returncode, unknown.stderr.strip()) == (1, 'error: the server doesn\'t have a resource type "gizmos"')

    described = cli(settings, "describe", "configmap", "settings", "-n", "team-b").stdout
    assert "Name:         settings" in described and "Namespace:    team-b" in described
    assert "Labels:       tier=web" in described and "mode: fast" in described
    assert "Created" in described.split("Events:")[1], described

    events = cli(settings, "events", "-n", "team-b").stdout.splitlines()
    assert events[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert any("Created" in line and "configmap/settings" in line for line in events), events


class Lines:
    """The lines a child process prints, read by a thread, waited for with a deadline."""

    def __init__(self, stream: IO[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, what: str, found: Callable[[str], bool], *, timeout: float) -> str | None:
        """The first line from now on for which `found` holds; None after `timeout`."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                raise AssertionError(f"the output ended before {what}: {self.seen}")
            self.seen.append(line)
            if found(line):
                return line
        return None


def configmap(version: int) -> str:
    """Version N of the watched ConfigMap has N keys, so the DATA column tells them apart."""
    data = ", ".join(f"k{i}: '{version}'" for i in range(version))
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: watched}}\ndata: {{{data}}}\n"


def test_get_watch_prints_changes(settings: Settings, api: ServiceProcess, tmp_path: Path) -> None:
    path = tmp_path / "cm.yaml"
    path.write_text(configmap(1))
    assert cli(settings, "apply", "-f", str(path)).returncode == 0
    watcher = subprocess.Popen([KAFKUBE, "get", "configmaps", "-w"], env=env_for(settings),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert watcher.stdout is not None
        lines = Lines(watcher.stdout)
        listed = lines.wait_for("the listing", lambda line: line.startswith("watched"), timeout=60)
        assert listed is not None and listed.split()[1] == "1", lines.seen  # DATA: one key
        # The watch starts following once its listing is printed: an update that lands in
        # between is part of what it starts from, and not printed. So update until one is
        # printed (each version different), and check it is the one just applied.
        shown = None
        for version in range(2, 7):
            path.write_text(configmap(version))
            assert cli(settings, "apply", "-f", str(path)).stdout.strip() == "configmap/watched configured"
            shown = lines.wait_for(f"version {version}", lambda line: line.startswith("watched"), timeout=20)
            if shown is not None:
                break
        assert shown is not None, f"the watch printed no update: {lines.seen}"
        assert shown.split()[1] == str(version), lines.seen  # DATA: as many keys as the version
    finally:
        watcher.send_signal(signal.SIGINT)
        try:
            watcher.communicate(timeout=20)
        except subprocess.TimeoutExpired:  # never leave a watcher behind, whatever failed
            watcher.kill()
            watcher.communicate()


def test_services_stop_cleanly_on_sigterm(settings: Settings, api: ServiceProcess) -> None:
    deadline = time.monotonic() + 120
    while '"partition.owned"' not in api.logs():
        assert time.monotonic() < deadline, api.logs()
        time.sleep(0.2)
    assert api.kill(signal.SIGTERM) == 0  # within kill's 30 s: a drain, not a hang
    assert '"supervisor.stopping"' in api.logs()


def next_second() -> str:
    """The next whole second (UTC), returned once the clock has passed it: a record written
    before the call is older than it, and one written after the return is not."""
    boundary = int(time.time()) + 1
    while (left := boundary - time.time()) > 0:
        time.sleep(left)  # waits on the clock itself, the very condition
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(boundary))


def test_history_and_get_at_an_earlier_instant(settings: Settings, api: ServiceProcess, tmp_path: Path) -> None:
    path = tmp_path / "cm.yaml"
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: traveller}\ndata: {stage: '%s'}\n"
    path.write_text(manifest % "one")
    assert cli(settings, "apply", "-f", str(path)).returncode == 0
    between = next_second()  # version one was written before it, version two after
    path.write_text(manifest % "two")
    assert cli(settings, "apply", "-f", str(path)).stdout.strip() == "configmap/traveller configured"
    assert cli(settings, "delete", "configmap", "traveller").returncode == 0

    rows = [line.split(None, 5) for line in cli(settings, "history", "cm", "traveller").stdout.splitlines()]
    assert rows[0][:3] == ["REVISION", "TIME", "CHANGE"]
    assert [r[2] for r in rows[1:]] == ["Created", "Updated", "Deleted"], rows
    # BY: the authenticated author (the session's admin token: services/cli/credentials.py)
    assert rows[2][3] == "kubernetes-admin" and "data.stage: one -> two" in rows[2][5], rows

    then = yaml.safe_load(cli(settings, "get", "cm", "traveller", "--at", between, "-o", "yaml").stdout)
    assert then["data"] == {"stage": "one"}
    now = cli(settings, "get", "cm", "traveller")
    assert now.returncode == 1 and "not found" in now.stderr
    first = yaml.safe_load(cli(settings, "history", "cm", "traveller", "--revision", rows[1][0]).stdout)
    assert first["data"] == {"stage": "one"} and first["metadata"]["generation"] == 1


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
"""


def test_rollout_pause_resume_and_restart_patch_the_deployment(settings: Settings, api: ServiceProcess,
                                                                tmp_path: Path) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(DEPLOYMENT)
    assert cli(settings, "apply", "-f", str(path)).stdout.strip() == "deployment.apps/web created"

    def spec() -> dict[str, object]:
        return yaml.safe_load(cli(settings, "get", "deployment", "web", "-o", "yaml").stdout)["spec"]

    paused = cli(settings, "rollout", "pause", "deployment/web")
    assert paused.stdout.strip() == "deployment.apps/web paused", paused.stderr
    assert spec()["paused"] is True
    resumed = cli(settings, "rollout", "resume", "deployment", "web")
    assert resumed.stdout.strip() == "deployment.apps/web resumed", resumed.stderr
    assert "paused" not in spec()
    restarted = cli(settings, "rollout", "restart", "deployment/web")
    assert restarted.stdout.strip() == "deployment.apps/web restarted", restarted.stderr
    template = spec()["template"]
    assert isinstance(template, dict)
    assert "kubectl.kubernetes.io/restartedAt" in template["metadata"]["annotations"]
    missing = cli(settings, "rollout", "pause", "deployment/nope")
    assert missing.returncode != 0 and "not found" in missing.stderr
