"""Shared bench plumbing: a broker (the tests' way), fresh topics, service processes,
percentiles, and the table + JSON every benchmark prints."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psutil

from services.runtime.bus import ensure_topics
from services.runtime.config import Settings
from services.runtime.topics import Topics

ROOT = Path(__file__).resolve().parent.parent
KAFKUBE = str(Path(sys.executable).with_name("kafkube"))
UNGUARDED = "KAFKUBE_BENCH_UNGUARDED"  # the API without its security checks (bench/unguarded.py)
# Where results, logs and the run's credentials go: bench/results, or KAFKUBE_BENCH_RESULTS
# (the CI smoke, tests/integration/test_bench_smoke.py, keeps the committed results untouched).
RESULTS = Path(os.environ.get("KAFKUBE_BENCH_RESULTS") or ROOT / "bench" / "results")


def bootstrap() -> str:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    out = subprocess.run(["bash", str(ROOT / "scripts" / "kafka.sh"), "start"], capture_output=True,
                         text=True, check=True).stdout
    return [line.split("=", 1)[1] for line in out.splitlines() if line.startswith("KAFKA_BOOTSTRAP_SERVERS=")][-1]


SERVICE_TOKENS = {"scheduler": "scheduler", "controllers": "controller-manager", "endpoints": "endpoints"}


def without_security() -> None:
    """The cluster of this run without its security checks, to measure what they cost:
    the API as bench/unguarded.py runs it and no record signatures (KAFKUBE_INSECURE_BUS);
    the tokens stay (every process still presents one)."""
    secure_cluster()
    os.environ.pop("KAFKUBE_BUS_KEYS_FILE", None)
    os.environ.update({"KAFKUBE_INSECURE_BUS": "1", UNGUARDED: "1"})


def secure_cluster() -> Path:
    """The benchmarks run the cluster as shipped: a token per component (`kafkube init`),
    the API authorising every request, every state record signed (`kafkube keys init`),
    ServiceAccount tokens mounted into pods, Secrets encrypted at rest.
    Made once per run into bench/results/credentials; the env points every process at it."""
    from services.cli.credentials import init_credentials
    from services.cli.keys import CONTROL_PLANE, init_keys

    directory = RESULTS / "credentials"
    if "KAFKUBE_TOKEN_AUTH_FILE" not in os.environ:
        init_credentials(directory, nodes=[], bootstrap_servers="unused:9092")
        init_keys(directory / "keys")
        os.environ.update(KAFKUBE_TOKEN_AUTH_FILE=str(directory / "tokens.csv"),
                          KAFKUBE_TOKEN_FILE=str(directory / "tokens" / "admin.token"),
                          KAFKUBE_BUS_KEYS_FILE=str(directory / "keys" / CONTROL_PLANE),
                          KAFKUBE_SERVICE_ACCOUNT_KEY_FILE=str(directory / "service-account.key"),
                          KAFKUBE_ENCRYPTION_CONFIG=str(directory / "encryption-config.yaml"))
    return directory


def _node_identity(node: str) -> dict[str, str]:
    """A real node's kubelet as the shipped deployments run it: its own token and bus keys
    (what it signs pod statuses with and what ServiceAccount tokens are sealed for)."""
    from services.cli.credentials import init_credentials
    from services.cli.keys import init_keys, node_file

    directory = secure_cluster()
    if not os.environ.get("KAFKUBE_BUS_KEYS_FILE"):  # --without-security: no signatures, no keys
        return {"KAFKUBE_NODE_TOKEN_DIR": str(directory / "tokens")}
    init_credentials(directory, nodes=[node], bootstrap_servers="unused:9092")
    init_keys(directory / "keys", (node,))
    return {"KAFKUBE_NODE_TOKEN_DIR": str(directory / "tokens"),
            "KAFKUBE_BUS_KEYS_FILE": str(node_file(directory / "keys", node))}


async def fresh_settings(partitions: int = 6) -> Settings:
    secure_cluster()
    settings = Settings.from_env(bootstrap_servers=bootstrap(), topic_prefix=f"bench{secrets.token_hex(3)}.",
                                 partitions=partitions, instance="bench")  # KAFKUBE_KAFKA_* from the env
    await ensure_topics(settings, Topics(settings.topic_prefix).specs())
    return settings


class Service:
    """`kafkube serve ...` as a child process, logs to a file."""

    def __init__(self, settings: Settings, *args: str, extra_env: Mapping[str, str] | None = None) -> None:
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
               "KAFKUBE_TOPIC_PREFIX": settings.topic_prefix, "KAFKUBE_PARTITIONS": str(settings.partitions),
               **(extra_env or {})}
        if identity := SERVICE_TOKENS.get(args[0]):  # others (api, hollow fleet): the admin's
            env["KAFKUBE_TOKEN_FILE"] = str(secure_cluster() / "tokens" / f"{identity}.token")
        if args[0] == "kubelet" and "--node" in args:
            env.update(_node_identity(args[args.index("--node") + 1]))
        RESULTS.mkdir(parents=True, exist_ok=True)
        self.log = (RESULTS / f"{args[0]}-{settings.topic_prefix}log").open("wb")
        command = ([sys.executable, "-m", "bench.unguarded"] if args[0] == "api" and env.get(UNGUARDED)
                   else [KAFKUBE])  # bench.throughput --without-security
        self.proc = subprocess.Popen([*command, "serve", *args], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def rss_mib(self) -> float:
        proc = psutil.Process(self.proc.pid)
        return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def report(name: str, rows: list[dict[str, Any]], meta: dict[str, Any]) -> None:
    """Print the rows as a table and write them, with `meta`, to bench/results/<name>.json."""
    headers = list(rows[0]) if rows else []
    widths = [max(len(str(h)), *(len(_fmt(r[h])) for r in rows)) for h in headers]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    for row in rows:
        print("  ".join(_fmt(row[h]).ljust(w) for h, w in zip(headers, widths)))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}.json"
    out.write_text(json.dumps({"benchmark": name, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                               "meta": meta, "rows": rows}, indent=2))
    print(f"-> {out}")


def _fmt(value: Any) -> str:
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def free_address() -> str:
    """127.0.0.1:<a port free now>, for a service to listen on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def broker_pid(bootstrap_servers: str) -> int | None:
    """The broker process listening on the bootstrap port (None if not on this machine)."""
    port = int(bootstrap_servers.split(",")[0].rsplit(":", 1)[1])
    for conn in psutil.net_connections("tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            return int(conn.pid)
    return None


def kafka_rss_mib(bootstrap_servers: str) -> float | None:
    """RSS of the broker process listening on the bootstrap port (None if not found here)."""
    pid = broker_pid(bootstrap_servers)
    return psutil.Process(pid).memory_info().rss / 2**20 if pid else None


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children so far."""
    proc = psutil.Process(pid)
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        times = p.cpu_times()
        total += times.user + times.system
    return total
