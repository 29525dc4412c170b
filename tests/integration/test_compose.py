"""docker-compose.yml end to end, on images built on this machine (no registry).

Runs scripts/compose-smoke.sh: it builds (or reuses, by a hash of their inputs) the images
with scripts/compose-images.sh, brings the compose file up as its own project, runs kubectl
against the apiserver service with the kubeconfig from `init kubeconfig` (get nodes, get ns,
apply and read back a ConfigMap), publishes a Deployment with the kafkube CLI to
kafkube.manifests, sees its containers run on the Docker Engine and
its events on kafkube.events, scales it, deletes it, checks that the `monitoring` profile's
Prometheus scrapes every service (targets up, every job's informers synced), brings
everything down and checks that no pod container is left behind. It runs with the Compose v2
plugin (scripts/compose-v2.sh), waits on every service's /readyz and checks that Debian's
docker-compose 1.29 reads the file. See the script for the steps.

Slow: about a minute and a half with the images cached; the first run on a machine also
debootstraps a Debian base and installs Python and a JRE into the images (a few minutes).
Without a Docker Engine it is skipped, except under CI=true, where it fails.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.availability import under_ci, unavailable

REPO_ROOT = Path(__file__).resolve().parents[2]
SMOKE = REPO_ROOT / "scripts" / "compose-smoke.sh"

pytestmark = [pytest.mark.docker]


def _base_image_present() -> bool:
    return subprocess.run(["docker", "image", "inspect", "kafkube/debian-base:bookworm"],
                          capture_output=True).returncode == 0


@pytest.mark.timeout(1800)
def test_docker_compose_up_runs_a_deployment_end_to_end(docker_ready: None) -> None:
    if os.environ.get("KAFKUBE_SKIP_COMPOSE") and not under_ci():
        pytest.skip("KAFKUBE_SKIP_COMPOSE is set")
    if os.geteuid() != 0 and not _base_image_present():
        unavailable("building the base image needs root (debootstrap): run scripts/compose-images.sh as root once")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKUBE_", "COMPOSE_"))
           or k.startswith("KAFKUBE_SMOKE_") or k in ("KAFKUBE_CACHE", "KAFKUBE_DEBIAN_MIRROR")}
    proc = subprocess.run(["bash", str(SMOKE)], cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1700)
    print(proc.stdout[-30000:])
    assert proc.returncode == 0, f"scripts/compose-smoke.sh failed (exit {proc.returncode}):\n{proc.stdout[-8000:]}"
    assert "PASS" in proc.stdout
