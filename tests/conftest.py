"""Top-level test fixtures: the shared Kafka broker, the Docker Engine, unique topic names.

A missing broker or Docker Engine skips the tests that need it on a developer machine, and
fails them under CI (CI=true), where `make test` / `.ci/run` must have provided both.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.kubelet.tmpfs import MemoryMedium
from tests.availability import unavailable

REPO_ROOT = Path(__file__).resolve().parent.parent
KAFKA_SH = REPO_ROOT / "scripts" / "kafka.sh"


def _answers(bootstrap: str, timeout: float = 5.0) -> bool:
    """True if a TCP connection to any host:port in a comma-separated bootstrap list succeeds."""
    for addr in bootstrap.split(","):
        addr = addr.strip().split("://")[-1]
        host, _, port = addr.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]") or "localhost", int(port)), timeout=timeout):
                return True
        except (OSError, ValueError):
            continue
    return False


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """Bootstrap address of a running Kafka broker.

    KAFKA_BOOTSTRAP_SERVERS if set, else a local single-node broker started (or reused) by
    scripts/kafka.sh start.
    """
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    if not bootstrap:
        try:
            proc = subprocess.run(
                ["bash", str(KAFKA_SH), "start"],
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=600,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            unavailable(f"no Kafka broker: scripts/kafka.sh start did not finish: {exc}")
        found = [
            line.split("=", 1)[1].strip()
            for line in proc.stdout.splitlines()
            if line.startswith("KAFKA_BOOTSTRAP_SERVERS=")
        ]
        if proc.returncode != 0 or not found or not found[-1]:
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-20:])
            unavailable(f"no Kafka broker: scripts/kafka.sh start exited {proc.returncode}:\n{tail}")
        bootstrap = found[-1]
    if not _answers(bootstrap):
        unavailable(f"no Kafka broker: {bootstrap} does not answer (TCP connect failed)")
    return bootstrap


@pytest.fixture(scope="session")
def docker_ready(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A Docker Engine answers `docker info` (start one with scripts/docker.sh ensure).
    At the end of the session, the secret tmpfs mounts that killed kubelets left under
    the session's temporary directory are detached (so pytest can remove it)."""
    try:
        proc = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except FileNotFoundError:
        unavailable("no Docker Engine: the docker command is not installed (run scripts/docker.sh ensure)")
    except subprocess.TimeoutExpired:
        unavailable("no Docker Engine: docker info timed out (run scripts/docker.sh ensure)")
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        unavailable(f"no Docker Engine: docker info failed (run scripts/docker.sh ensure):\n{tail}")
    yield
    MemoryMedium().unmount_below(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session", autouse=True)
def bus_keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """This session's cluster keys (`kafkube keys init`): in-process services use the
    control-plane ring (installed for Settings without a key file), `kafkube` children
    its file through KAFKUBE_BUS_KEYS_FILE (a lone kubelet: its node's file, kafkit.env_for)."""
    from services.cli.keys import CONTROL_PLANE, init_keys
    from services.runtime import buskeys
    from services.runtime.signing import KeyRing

    directory = tmp_path_factory.mktemp("bus-keys")
    init_keys(directory)
    control = directory / CONTROL_PLANE
    previous = os.environ.get(buskeys.ENV_FILE)
    os.environ[buskeys.ENV_FILE] = str(control)
    buskeys.install(KeyRing.load(control))
    yield directory
    buskeys.install(None)
    if previous is None:
        os.environ.pop(buskeys.ENV_FILE, None)
    else:
        os.environ[buskeys.ENV_FILE] = previous


@pytest.fixture(scope="session", autouse=True)
def cluster_tokens(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """This session's credentials (`kafkube init`): the API's token file, a token per
    component and per node, the ServiceAccount key and the encryption configuration (every
    API of the session encrypts Secrets at rest, as the shipped deployments do). Every `kafkube` child presents one (tests/integration/kafkit.py
    `env_for` picks the service's identity; the admin's by default, as for the CLI)."""
    from services.cli.credentials import init_credentials

    directory = tmp_path_factory.mktemp("credentials")
    init_credentials(directory, nodes=[], bootstrap_servers="unused:9092")
    names = {"KAFKUBE_TOKEN_AUTH_FILE": str(directory / "tokens.csv"),
             "KAFKUBE_NODE_TOKEN_DIR": str(directory / "tokens"),
             "KAFKUBE_TOKEN_FILE": str(directory / "tokens" / "admin.token"),
             "KAFKUBE_SERVICE_ACCOUNT_KEY_FILE": str(directory / "service-account.key"),
             "KAFKUBE_ENCRYPTION_CONFIG": str(directory / "encryption-config.yaml")}
    previous = {name: os.environ.get(name) for name in names}
    os.environ.update(names)
    yield directory
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(autouse=True)
def unit_tests_bus(request: pytest.FixtureRequest, bus_keys: Path) -> Iterator[None]:
    """Unit tests feed unsigned records straight into informers: there, Settings without
    a key file mean an insecure bus (tests/unit/test_signing.py tests the checks)."""
    from services.runtime import buskeys

    if "unit" not in Path(str(request.node.path)).relative_to(REPO_ROOT).parts[:2]:
        yield
        return
    saved = buskeys._installed
    buskeys.install(buskeys.INSECURE)
    yield
    buskeys.install(saved)


@pytest.fixture
def topic_prefix() -> str:
    """A prefix unique to this test, e.g. 'kt1a2b3c4d.', so tests sharing a broker never meet."""
    return f"kt{secrets.token_hex(4)}."
