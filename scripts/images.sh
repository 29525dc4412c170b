#!/usr/bin/env bash
# Build the small local images the tests and examples use, if they are missing:
#
#   kafkube/busybox:1.0   busybox (every applet on /bin), CMD ["sh"]; workloads give commands
#   kafkube/busybox:1.1   the same image under a second tag, for rollout tests
#   kafkube/pause:1.0     the pod infra container: sleeps forever, exits 0 at once on TERM/INT
#
# Both come from Debian's busybox-static (installed if /bin/busybox is absent), imported with
# `docker import`: no registry access needed. Re-running is fast when the images exist;
# KAFKUBE_REBUILD_IMAGES=1 rebuilds them.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUSYBOX_IMAGE=kafkube/busybox:1.0
BUSYBOX_NEXT_IMAGE=kafkube/busybox:1.1
PAUSE_IMAGE=kafkube/pause:1.0
PAUSE_CMD='["sh","-c","trap '"'"'exit 0'"'"' TERM INT; while :; do sleep 3600 & wait $!; done"]'

say() { echo "images.sh: $*" >&2; }
die() { echo "images.sh: ERROR: $*" >&2; exit 1; }

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

static_busybox() {  # true if $1 is a statically linked busybox (usable in an empty rootfs)
    [[ -x "$1" ]] || return 1
    local out
    out=$(LC_ALL=C ldd "$1" 2>&1 || true)  # ldd exits 1 on a static binary
    [[ "$out" == *"not a dynamic executable"* || "$out" == *"statically linked"* ]]
}

ensure_busybox() {
    if static_busybox /bin/busybox; then
        return 0
    fi
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
        die "a static /bin/busybox is needed: install it (apt-get install busybox-static)"
    fi
    say "installing busybox-static (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    if [[ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -60 -print -quit 2>/dev/null)" ]]; then
        apt-get update -qq || die "apt-get update failed"
    fi
    apt-get install -y -qq --no-install-recommends busybox-static >/dev/null ||
        die "apt-get install busybox-static failed"
    static_busybox /bin/busybox || die "/bin/busybox is still not a static busybox"
}

make_rootfs() {  # $1 = directory to fill
    local root=$1 applet
    mkdir -p "$root"/{bin,usr/bin,etc,tmp,root,proc,sys,dev,var/tmp}
    chmod 1777 "$root/tmp" "$root/var/tmp"
    chmod 700 "$root/root"
    cp /bin/busybox "$root/bin/busybox"
    chmod 755 "$root/bin/busybox"
    # One symlink per applet, but never bin/busybox -> busybox (a self-link breaks it).
    while read -r applet; do
        [[ -n "$applet" && "$applet" != busybox ]] || continue
        ln -sf busybox "$root/bin/$applet"
    done < <(/bin/busybox --list)
    ln -sf /bin/busybox "$root/usr/bin/env"  # for #!/usr/bin/env scripts
    cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
    cat >"$root/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
}

import_image() {  # $1 = rootfs, $2 = image name, $3 = CMD (JSON)
    docker rmi "$2" >/dev/null 2>&1 || true  # a rebuild leaves no dangling old image
    tar -C "$1" --numeric-owner --owner=0 --group=0 -cf - . |
        docker import --change 'ENV PATH=/bin:/usr/bin' --change "CMD $3" - "$2" >/dev/null ||
        die "docker import of $2 failed"
}

verify_busybox() {
    local out
    out=$(docker run --rm "$BUSYBOX_IMAGE" echo ok 2>&1) || die "docker run $BUSYBOX_IMAGE echo ok failed: $out"
    [[ "$out" == ok ]] || die "docker run $BUSYBOX_IMAGE echo ok printed: $out"
}

verify_pause() {
    local id code
    id=$(docker run -d "$PAUSE_IMAGE") || die "docker run $PAUSE_IMAGE failed"
    sleep 0.5
    if ! docker stop -t 10 "$id" >/dev/null; then
        docker rm -f "$id" >/dev/null 2>&1 || true
        die "docker stop of a $PAUSE_IMAGE container failed"
    fi
    code=$(docker inspect -f '{{.State.ExitCode}}' "$id")
    docker rm -f "$id" >/dev/null 2>&1 || true
    [[ "$code" == 0 ]] || die "$PAUSE_IMAGE did not exit 0 on SIGTERM (exit code $code)"
}

main() {
    "$HERE/docker.sh" ensure
    local rebuild=${KAFKUBE_REBUILD_IMAGES:-}
    if [[ -z "$rebuild" ]] && have_image "$BUSYBOX_IMAGE" && have_image "$BUSYBOX_NEXT_IMAGE" && have_image "$PAUSE_IMAGE"; then
        return 0
    fi
    ensure_busybox
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
    local root=$WORK
    make_rootfs "$root/rootfs"
    if [[ -n "$rebuild" ]] || ! have_image "$BUSYBOX_IMAGE"; then
        say "building $BUSYBOX_IMAGE"
        import_image "$root/rootfs" "$BUSYBOX_IMAGE" '["sh"]'
        ( verify_busybox ) || { docker rmi -f "$BUSYBOX_IMAGE" >/dev/null 2>&1; exit 1; }
    fi
    if [[ -n "$rebuild" ]] || ! have_image "$PAUSE_IMAGE"; then
        say "building $PAUSE_IMAGE"
        import_image "$root/rootfs" "$PAUSE_IMAGE" "$PAUSE_CMD"
        ( verify_pause ) || { docker rmi -f "$PAUSE_IMAGE" >/dev/null 2>&1; exit 1; }
    fi
    # A second version of the workload image, so rollouts and rollbacks change something.
    if [[ -n "$rebuild" ]] || ! have_image "$BUSYBOX_NEXT_IMAGE"; then
        docker tag "$BUSYBOX_IMAGE" "$BUSYBOX_NEXT_IMAGE"
    fi
    say "images ready: $BUSYBOX_IMAGE $BUSYBOX_NEXT_IMAGE $PAUSE_IMAGE"
}

main "$@"
