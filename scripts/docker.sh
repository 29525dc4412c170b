#!/usr/bin/env bash
# Make sure a Docker Engine answers.
#
#   scripts/docker.sh ensure   if `docker info` works: done. Otherwise install Debian's docker.io
#                              (if dockerd or docker is missing), start the daemon (systemd if it
#                              runs, else dockerd in the background) and wait until it answers.
#   scripts/docker.sh status   exit 0 if `docker info` works
#
# `ensure` also installs Debian's crun and registers it as the Engine runtime "crun" in
# /etc/docker/daemon.json ("runtimes"), the second runtime RuntimeClass tests use; a running
# dockerd reloads its runtimes on SIGHUP (no restart: containers and other tests go on), and
# only when the file changed. gVisor's runsc or Kata are used when registered, never installed.
# crun refuses a cgroup "hybrid mode" whose cgroup2 mount (/sys/fs/cgroup/unified) still holds
# controllers (seen: hugetlb, not mounted as cgroup v1); such an unused controller is given its
# own cgroup v1 hierarchy, as the others have (runc works either way).
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

DAEMON_JSON="${KAFKUBE_DOCKER_DAEMON_JSON:-/etc/docker/daemon.json}"

# Register `crun` in daemon.json; prints "changed" when the file was rewritten.
register_crun() {
    local current merged
    current=$(cat "$DAEMON_JSON" 2>/dev/null || true)
    merged=$(printf '%s' "${current:-{\}}" | jq -S '.runtimes.crun.path = "/usr/bin/crun"') ||
        die "$DAEMON_JSON is not valid JSON"
    if [[ -n "$current" ]] && [[ "$(printf '%s' "$current" | jq -S . 2>/dev/null)" == "$merged" ]]; then
        return 0
    fi
    "${SUDO[@]}" mkdir -p "$(dirname "$DAEMON_JSON")"
    printf '%s\n' "$merged" | "${SUDO[@]}" tee "$DAEMON_JSON.tmp" >/dev/null
    "${SUDO[@]}" mv "$DAEMON_JSON.tmp" "$DAEMON_JSON"
    echo changed
}

# cgroup v1 with a cgroup2 mount beside it: move the controllers cgroup2 holds (and no
# cgroup uses: empty subtree_control) to v1 hierarchies of their own, so crun accepts the mode.
hybrid_cgroups_for_crun() {
    local unified=/sys/fs/cgroup/unified controller
    [[ -r "$unified/cgroup.controllers" && -z "$(cat "$unified/cgroup.subtree_control" 2>/dev/null)" ]] || return 0
    for controller in $(cat "$unified/cgroup.controllers"); do
        say "mounting the $controller cgroup controller as cgroup v1 (crun refuses it in cgroup2 beside v1)"
        "${SUDO[@]}" mkdir -p "/sys/fs/cgroup/$controller"
        "${SUDO[@]}" mount -t cgroup -o "$controller" cgroup "/sys/fs/cgroup/$controller" ||
            say "could not mount $controller: crun containers may fail to start"
    done
}

ensure_runtimes() {
    if [[ $(id -u) -ne 0 && ${#SUDO[@]} -eq 0 ]]; then
        say "not root: crun is not installed or registered (RuntimeClass tests need the Engine runtime crun)"
        return 0
    fi
    hybrid_cgroups_for_crun
    [[ -x /usr/bin/crun ]] || apt_install crun
    command -v jq >/dev/null || apt_install jq
    [[ "$(register_crun)" == changed ]] || return 0
    say "registered the crun runtime in $DAEMON_JSON"
    local pid
    pid=$(cat /run/docker.pid 2>/dev/null || true)
    if [[ -n "$pid" ]] && [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == dockerd ]]; then
        say "reloading dockerd's configuration (SIGHUP)"
        "${SUDO[@]}" kill -HUP "$pid"
        local deadline=$((SECONDS + 20))
        until docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q '"crun"'; do
            ((SECONDS < deadline)) || die "dockerd did not load the crun runtime after SIGHUP"
            sleep 1
        done
    fi
}

cmd_ensure() {
    ensure_runtimes
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
