"""What the fault tests start and break: a Kafkube cluster as real processes (`kafkube
serve` api, scheduler, controllers, one Docker kubelet per node), a dedicated Kafka broker
or KRaft cluster (scripts/kafka.sh with its own state directory: never the shared broker),
and a dedicated Docker Engine in its own network namespace (never the shared one).

Everything here is started by a test and stopped by it in `finally`; every process is
signalled by its own pid, never by name."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from services.kubelet.runtime.base import LABEL_NODE
from services.runtime.config import Settings
from tests.integration.kafkit import ServiceProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
KAFKA_SH = REPO_ROOT / "scripts" / "kafka.sh"
CONTROL_PLANE = ("api", "scheduler", "controllers")

# Quick heartbeats, relists and resyncs; a short node grace period so a frozen or dead
# kubelet's pods move within seconds; no cluster DNS (no proxy runs in these tests).
FAST_ENV = {
    "KAFKUBE_HEARTBEAT_SECONDS": "1", "KAFKUBE_RELIST_SECONDS": "0.5", "KAFKUBE_RESYNC_SECONDS": "1",
    "KAFKUBE_NODE_MONITOR_GRACE_SECONDS": "6", "KAFKUBE_DEFAULT_UNREACHABLE_TOLERATION_SECONDS": "1",
    "KAFKUBE_CLUSTER_DNS": "off", "KAFKUBE_CONNECT_TIMEOUT": "120", "KAFKUBE_BACKOFF_INITIAL_SECONDS": "1",
    "KAFKUBE_BACKOFF_MAX_SECONDS": "5",
}


class Cluster:
    """The control plane and the kubelets of one test, each a `kafkube serve` process that
    the test may SIGKILL, SIGSTOP/SIGCONT and restart."""

    def __init__(self, settings: Settings, log_dir: Path, nodes: list[str], *, docker_host: str | None = None) -> None:
        self.settings, self.log_dir, self.nodes = settings, log_dir, nodes
        self.docker_host = docker_host
        self.procs: dict[str, ServiceProcess] = {}
        self.retired: list[ServiceProcess] = []

    def start(self) -> "Cluster":
        for name in CONTROL_PLANE:
            self.restart(name)
        for node in self.nodes:
            self.restart(f"kubelet:{node}")
        return self

    def restart(self, role: str) -> ServiceProcess:
        """(Re)start one role: `api`, `scheduler`, `controllers` or `kubelet:<node>`."""
        old = self.procs.get(role)
        if old is not None:
            assert not old.alive(), f"{role} is still running"
            self.retired.append(old)
        name, _, node = role.partition(":")
        args = ("--node", node, "--runtime", "docker") if node else ()
        self.procs[role] = ServiceProcess(self.settings, name, self.log_dir, *args).start()
        return self.procs[role]

    def sigkill(self, role: str) -> None:
        self.procs[role].kill(signal.SIGKILL)

    def signal(self, role: str, sig: int) -> None:
        proc = self.procs[role].proc
        assert proc is not None
        os.kill(proc.pid, sig)

    def roles(self) -> list[str]:
        return list(CONTROL_PLANE) + [f"kubelet:{n}" for n in self.nodes]

    def assert_alive(self) -> None:
        dead = {role: p.proc.returncode for role, p in self.procs.items() if p.proc and not p.alive()}
        assert not dead, f"services exited on their own: {dead}"

    def stop(self) -> None:
        """Stop every process (resuming a stopped one first), print the ends of their logs."""
        for role, process in self.procs.items():
            with contextlib.suppress(Exception):
                if process.alive() and process.proc is not None:
                    os.kill(process.proc.pid, signal.SIGCONT)
            try:
                process.stop()
            except Exception as exc:  # go on with the others
                print(f"stopping {role} failed: {exc}")
        for process in self.retired + list(self.procs.values()):
            print(f"----- logs of {process.name} {' '.join(process.args)} ({process.log_path}) -----")
            print(process.logs()[-6000:])

    def remove_containers(self) -> None:
        """Remove every container labelled with one of this cluster's nodes."""
        for node in self.nodes:
            ids = docker(self.docker_host, "ps", "-aq", "--filter", f"label={LABEL_NODE}={node}", check=False).split()
            if ids:
                docker(self.docker_host, "rm", "-f", "-v", *ids, check=False)


def docker(host: str | None, *args: str, check: bool = True, timeout: float = 60) -> str:
    env = {**os.environ, **({"DOCKER_HOST": host} if host else {})}
    done = subprocess.run(["docker", *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


# -- a dedicated Kafka broker or cluster ---------------------------------------------------
class Broker:
    """A broker (or KRaft cluster) of scripts/kafka.sh in its own state directory."""

    def __init__(self, state: Path, nodes: int = 1) -> None:
        self.state, self.nodes = state, nodes
        self.bootstrap = ""

    def _run(self, *args: str, timeout: float = 300) -> str:
        env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
        env["KAFKUBE_KAFKA_STATE"] = str(self.state)
        done = subprocess.run(["bash", str(KAFKA_SH), *args], env=env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise RuntimeError(f"kafka.sh {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}")
        return done.stdout

    def start(self) -> "Broker":
        out = self._run("start") if self.nodes == 1 else self._run("cluster", str(self.nodes))
        self.bootstrap = out.strip().splitlines()[-1].split("=", 1)[1]
        return self

    def node_dirs(self) -> list[Path]:
        return [self.state] if self.nodes == 1 else [self.state / f"node-{i}" for i in range(1, self.nodes + 1)]

    def pid(self, node: int = 0) -> int:
        return int((self.node_dirs()[node] / "pid").read_text())

    def signal(self, sig: int, node: int = 0) -> None:
        os.kill(self.pid(node), sig)

    def sigkill(self, node: int = 0) -> None:
        pid = self.pid(node)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}").exists() and _state_of(pid) != "Z" and time.monotonic() < deadline:
            time.sleep(0.1)

    def resume(self) -> None:
        self._run("resume")

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            for node in range(self.nodes):
                with contextlib.suppress(OSError, ValueError):
                    self.signal(signal.SIGCONT, node)
        try:
            self._run("stop", timeout=120)
        finally:
            shutil.rmtree(self.state, ignore_errors=True)


def _state_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "X"


# -- a dedicated Docker Engine -------------------------------------------------------------
class Dockerd:
    """A second dockerd for one test, started the way scripts/docker.sh starts the shared
    one (`setsid dockerd`, no systemd here) but with its own socket, data and exec roots,
    and in its own network namespace: a second dockerd in the host's namespace fights the
    shared one over the `docker0` bridge (it removed the shared daemon's bridge when
    tried). A holder process keeps the namespace, so a restarted daemon finds its
    containers' network again. The test's images are copied in from the shared Engine."""

    IMAGES = ("kafkube/pause:1.0", "kafkube/busybox:1.0")

    def __init__(self, root: Path) -> None:
        self.root = root
        self.socket = root / "docker.sock"
        self.host = f"unix://{self.socket}"
        self.holder: subprocess.Popen[bytes] | None = None
        self.daemon: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    def start(self) -> "Dockerd":
        self.root.mkdir(parents=True, exist_ok=True)
        self.holder = subprocess.Popen(["unshare", "--net", "sh", "-c", "ip link set lo up && exec sleep 100000"],
                                       start_new_session=True, stdin=subprocess.DEVNULL)
        self._launch()
        save = subprocess.Popen(["docker", "save", *self.IMAGES], stdout=subprocess.PIPE,
                                env={k: v for k, v in os.environ.items() if k != "DOCKER_HOST"})
        load = subprocess.run(["docker", "load", "-q"], stdin=save.stdout, capture_output=True, text=True,
                              env={**os.environ, "DOCKER_HOST": self.host}, timeout=120)
        save.wait(timeout=60)
        assert load.returncode == 0, f"loading the test images into the dedicated Engine failed: {load.stderr}"
        return self

    def _launch(self) -> None:
        assert self.holder is not None
        log = (self.root / "dockerd.log").open("ab")
        self.daemon = subprocess.Popen(
            ["nsenter", "-t", str(self.holder.pid), "-n", "dockerd", "-H", self.host,
             "--data-root", str(self.root / "data"), "--exec-root", str(self.root / "exec"),
             "--pidfile", str(self.root / "dockerd.pid"), "--iptables=false", "--ip-masq=false"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while not self.answers():
            assert self.daemon.poll() is None, f"dockerd exited: {self.log_tail()}"
            assert time.monotonic() < deadline, f"dockerd did not answer within 60s: {self.log_tail()}"
            time.sleep(0.3)

    def answers(self) -> bool:
        env = {**os.environ, "DOCKER_HOST": self.host}
        return subprocess.run(["docker", "info"], env=env, capture_output=True, timeout=30).returncode == 0

    def log_tail(self) -> str:
        return (self.root / "dockerd.log").read_text(errors="replace")[-3000:]

    def restart(self, sig: int = signal.SIGTERM) -> None:
        """Stop the daemon (SIGTERM: it stops its containers first; SIGKILL: it dies at
        once, containers go on under their shims) and start it again the same way."""
        assert self.daemon is not None
        self.daemon.send_signal(sig)
        self.daemon.wait(timeout=90)
        self.restarts += 1
        # The daemon's own containerd dies with a SIGKILLed dockerd. Where init does not reap
        # orphans (this sandbox), its zombie keeps containerd.pid "alive" and the new dockerd
        # waits for it forever: drop the pid file of a dead or zombie containerd.
        deadline = time.monotonic() + 60
        while any(self._own_processes("containerd --config")) and time.monotonic() < deadline:
            time.sleep(0.2)
        pidfile = self.root / "exec" / "containerd" / "containerd.pid"
        with contextlib.suppress(OSError, ValueError):
            if _state_of(int(pidfile.read_text().strip())) in ("Z", "X"):
                pidfile.unlink()
        self._launch()

    def stop(self) -> None:
        try:
            if self.daemon is not None and self.daemon.poll() is None:
                with contextlib.suppress(Exception):
                    ids = docker(self.host, "ps", "-aq").split()
                    if ids:
                        docker(self.host, "rm", "-f", "-v", *ids, check=False)
                self.daemon.terminate()
                try:
                    self.daemon.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    self.daemon.kill()
                    self.daemon.wait(timeout=30)
        finally:
            for pid in self._own_processes():  # managed containerd and shims left behind
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            if self.holder is not None:
                self.holder.kill()
                self.holder.wait(timeout=30)
            for mount in reversed(_mounts_under(self.root)):
                subprocess.run(["umount", "-l", mount], capture_output=True)
            shutil.rmtree(self.root, ignore_errors=True)

    def _own_processes(self, command: str = "") -> Iterator[int]:
        """Processes whose command line names this daemon's exec root (and `command`)."""
        marker = str(self.root / "exec")
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                    if marker in line and command in line and _state_of(int(entry.name)) not in ("Z", "X"):
                        yield int(entry.name)


def _mounts_under(root: Path) -> list[str]:
    with open("/proc/mounts") as mounts:
        return sorted(line.split()[1] for line in mounts if line.split()[1].startswith(str(root)))


def seeded_random(seed: int) -> random.Random:
    return random.Random(seed)
