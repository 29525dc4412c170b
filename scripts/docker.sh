#!/usr/bin/env bash
# Make sure a Docker Engine answers.
#
#   scripts/docker.sh ensure   if `docker info` works: done. Otherwise install Debian's docker.io
#                              (if dockerd or docker is missing), start the daemon (systemd if it
#                              runs, else dockerd in the background) and wait until it answers.
#   scripts/docker.sh status   exit 0 if `docker info` works
#
# The dockerd log (when this script starts dockerd itself) is $KAFKUBE_CACHE/run/dockerd.log.
set -euo pipefail

CACHE="${KAFKUBE_CACHE:-${HOME:-/tmp}/.cache/kafkube}"
DOCKERD_LOG="${KAFKUBE_DOCKERD_LOG:-$CACHE/run/dockerd.log}"
START_TIMEOUT="${KAFKUBE_DOCKER_START_TIMEOUT:-60}"

say() { echo "docker.sh: $*" >&2; }
die() { echo "docker.sh: ERROR: $*" >&2; exit 1; }

SUDO=()
if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
fi

docker_ok() {
    command -v docker >/dev/null && timeout 20 docker info >/dev/null 2>&1
}

apt_updated=
apt_install() {
    command -v apt-get >/dev/null || die "apt-get not found: install Docker Engine yourself (need $*)"
    if [[ $(id -u) -ne 0 && ${#SUDO[@]} -eq 0 ]]; then
        die "Docker is not installed and installing it needs root: run as root or install $* (apt-get install $*)"
    fi
    say "installing $* (apt-get)"
    if [[ -z "$apt_updated" && -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -60 -print -quit 2>/dev/null)" ]]; then
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed"
        apt_updated=1
    fi
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a apt-get install -y -qq "$@" >/dev/null ||
        die "apt-get install $* failed"
}

dockerd_running() {  # without procps: scan /proc for a process named dockerd
    local f
    for f in /proc/[0-9]*/comm; do
        [[ "$(cat "$f" 2>/dev/null)" == dockerd ]] && return 0
    done
    return 1
}

wait_docker() {  # $1 = seconds
    local deadline=$((SECONDS + $1))
    until docker_ok; do
        ((SECONDS < deadline)) || return 1
        sleep 1
    done
}

# The engine's default bridge can vanish under a running dockerd (seen when another
# dockerd shared the network namespace); containers then fail with "could not find
# bridge docker0". Re-create it with the address the engine expects.
ensure_bridge() {
    command -v ip >/dev/null || return 0
    ip link show docker0 >/dev/null 2>&1 && return 0
    local gateway
    gateway=$(docker network inspect bridge --format '{{(index .IPAM.Config 0).Gateway}}' 2>/dev/null || true)
    [[ -n "$gateway" ]] || return 0
    say "re-creating the missing docker0 bridge ($gateway/16)"
    "${SUDO[@]}" ip link add docker0 type bridge &&
        "${SUDO[@]}" ip addr add "$gateway/16" dev docker0 &&
        "${SUDO[@]}" ip link set docker0 up || die "could not re-create the docker0 bridge"
}

cmd_ensure() {
    if docker_ok; then
        ensure_bridge
        return 0
    fi
    if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
        apt_install docker.io
        hash -r
        command -v dockerd >/dev/null || die "dockerd still missing after installing docker.io"
    fi

    # A systemd machine starts docker.service itself (the package enables it).
    if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
        if ! wait_docker 5; then
            say "starting docker.service (systemctl)"
            "${SUDO[@]}" systemctl start docker.service >/dev/null 2>&1 || true
        fi
        if wait_docker "$START_TIMEOUT"; then
            say "Docker Engine is up (docker.service)"
            return 0
        fi
        say "docker.service did not answer; starting dockerd directly"
    fi

    local info
    info=$(docker info 2>&1 || true)
    if [[ "${info,,}" == *"permission denied"* ]]; then
        die "the Docker socket exists but this user may not use it: add $(id -un) to the docker group or run as root"
    fi
    [[ $(id -u) -eq 0 || ${#SUDO[@]} -gt 0 ]] || die "dockerd is not running and starting it needs root"
    if dockerd_running; then
        say "a dockerd is already running but does not answer yet; waiting"
    else
        mkdir -p "$(dirname "$DOCKERD_LOG")"
        say "starting dockerd (log: $DOCKERD_LOG)"
        # setsid + redirected fds: the daemon outlives this script and holds no caller's pipe.
        "${SUDO[@]}" setsid dockerd </dev/null >>"$DOCKERD_LOG" 2>&1 &
    fi
    if ! wait_docker "$START_TIMEOUT"; then
        if [[ -s "$DOCKERD_LOG" ]]; then
            echo "----- last lines of $DOCKERD_LOG -----" >&2
            tail -n 30 "$DOCKERD_LOG" >&2
        fi
        die "the Docker Engine did not answer \`docker info\` within ${START_TIMEOUT}s"
    fi
    say "Docker Engine is up"
}

case "${1:-}" in
    ensure) cmd_ensure ;;
    status) docker_ok ;;
    *)
        echo "usage: $0 ensure|status" >&2
        exit 2
        ;;
esac
