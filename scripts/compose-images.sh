#!/usr/bin/env bash
# Build the images docker-compose.yml runs, on a machine with no container registry.
#
#   kafkube/debian-base:bookworm  a minimal Debian 12 root filesystem made with debootstrap
#                                 and `docker import`ed (once; kept between runs)
#   $KAFKUBE_IMAGE                the Kafkube services (docker/Dockerfile): Debian's Python,
#     (kafkube/kafkube:local)     the project and its dependencies from wheels built here
#   $KAFKA_IMAGE                  Kafka 4.1.1 (docker/kafka.Dockerfile): Debian's JRE 17 and
#     (kafkube/kafka:4.1.1-local) the jars scripts/kafka.sh fetches with Maven (the broker's
#                                 and kafka-tools', for kafka-acls)
#   $PROMETHEUS_IMAGE             Prometheus 2.42 for the `monitoring` profile
#     (kafkube/prometheus:local)  (docker/prometheus/Dockerfile): Debian's `prometheus` package
#   kafkube/busybox:1.0, kafkube/pause:1.0   the pod images (scripts/images.sh)
#
# Prints `KAFKUBE_IMAGE=...`, `KAFKA_IMAGE=...` and `PROMETHEUS_IMAGE=...` lines for docker compose. Each image
# carries a label with a hash of its inputs and is rebuilt only when they change, so a
# second run takes seconds. Needs: a Docker Engine (scripts/docker.sh), debootstrap (installed
# with apt-get as root), Java + Maven for the jars (scripts/kafka.sh), the project's .venv
# (scripts/venv.sh) for building the wheels: PyPI and Debian's mirror are the only sources.
#
#   KAFKUBE_REBUILD_IMAGES=1   rebuild the Kafkube and Kafka images (not the base)
#   KAFKUBE_REBUILD_BASE=1     also re-run debootstrap
#   KAFKUBE_DEBIAN_MIRROR      default http://deb.debian.org/debian
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
CACHE="${KAFKUBE_CACHE:-${HOME:-/tmp}/.cache/kafkube}"
KAFKA_VERSION=4.1.1
LIBS="$CACHE/kafka-$KAFKA_VERSION/libs"
TOOLS="$CACHE/kafka-$KAFKA_VERSION/tools"  # kafka-tools (kafka-acls), for the compose `acls` step
BASE_IMAGE="${KAFKUBE_BASE_IMAGE:-kafkube/debian-base:bookworm}"
KAFKUBE_IMAGE="${KAFKUBE_IMAGE:-kafkube/kafkube:local}"
KAFKA_IMAGE="${KAFKA_IMAGE:-kafkube/kafka:$KAFKA_VERSION-local}"
PROMETHEUS_IMAGE="${PROMETHEUS_IMAGE:-kafkube/prometheus:local}"
MIRROR="${KAFKUBE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
HASH_LABEL=io.kafkube.inputs

say() { echo "compose-images.sh: $*" >&2; }
die() { echo "compose-images.sh: ERROR: $*" >&2; exit 1; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }
image_hash() { docker image inspect -f "{{ index .Config.Labels \"$HASH_LABEL\" }}" "$1" 2>/dev/null || true; }

apt_install() {
    [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null ||
        die "$1 is missing: install it (apt-get install $*)"
    say "installing $* (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    if [[ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -60 -print -quit 2>/dev/null)" ]]; then
        apt-get update -qq || die "apt-get update failed"
    fi
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null || die "apt-get install $* failed"
}

# docker build with the classic builder: a FROM of a local image never goes to a registry.
build() {  # build TAG HASH CONTEXT DOCKERFILE [build args...]
    local tag=$1 hash=$2 context=$3 dockerfile=$4
    shift 4
    local args=() a
    for a in "$@"; do args+=(--build-arg "$a"); done
    local log="$context/.build.log"
    if ! DOCKER_BUILDKIT=0 docker build --pull=false --label "$HASH_LABEL=$hash" \
            -f "$dockerfile" -t "$tag" "${args[@]}" "$context" >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        die "docker build of $tag failed (see above)"
    fi
}

ensure_base() {
    if [[ -z "${KAFKUBE_REBUILD_BASE:-}" ]] && have_image "$BASE_IMAGE"; then
        return 0
    fi
    command -v debootstrap >/dev/null || apt_install debootstrap
    [[ $(id -u) -eq 0 ]] || die "debootstrap needs root"
    local work
    work=$(mktemp -d "${TMPDIR:-/tmp}/kafkube-rootfs.XXXXXX")
    say "debootstrap: a minimal Debian bookworm root filesystem for $BASE_IMAGE (once; takes a few minutes)"
    if ! debootstrap --variant=minbase --include=ca-certificates bookworm "$work/rootfs" "$MIRROR" \
            >"$work/debootstrap.log" 2>&1; then
        tail -n 30 "$work/debootstrap.log" >&2
        rm -rf "$work"
        die "debootstrap failed (see above)"
    fi
    # Keep it small: no apt lists or caches; docker-friendly apt settings like Debian's images.
    rm -rf "$work"/rootfs/var/lib/apt/lists/* "$work"/rootfs/var/cache/apt/*.bin \
        "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/log/*.log
    printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
        >"$work/rootfs/etc/apt/apt.conf.d/90kafkube"
    printf 'path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\n' \
        >"$work/rootfs/etc/dpkg/dpkg.cfg.d/90kafkube-nodoc"
    docker rmi "$BASE_IMAGE" >/dev/null 2>&1 || true
    tar -C "$work/rootfs" --numeric-owner -cf - . |
        docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'ENV LANG=C.UTF-8' --change 'CMD ["bash"]' - "$BASE_IMAGE" >/dev/null ||
        { rm -rf "$work"; die "docker import of $BASE_IMAGE failed"; }
    rm -rf "$work"
    say "built $BASE_IMAGE"
}

tree_hash() {  # hash of the named files/directories under $ROOT (contents and paths)
    (cd "$ROOT" && find "$@" -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | sort -z |
        xargs -0 sha256sum | sha256sum | cut -c1-16)
}

ensure_kafkube_image() {
    local hash
    hash="$(docker image inspect -f '{{.Id}}' "$BASE_IMAGE" | cut -c8-19)-$(tree_hash pyproject.toml schemas services docker/Dockerfile docker/bin)"
    if [[ -z "${KAFKUBE_REBUILD_IMAGES:-}" && "$(image_hash "$KAFKUBE_IMAGE")" == "$hash" ]]; then
        return 0
    fi
    local py="$ROOT/.venv/bin/python"
    [[ -x "$py" ]] || bash "$HERE/venv.sh" >&2
    local work
    work=$(mktemp -d "${TMPDIR:-/tmp}/kafkube-image.XXXXXX")
    # Build the wheels from a copy of the sources, so no build/ directory lands in the tree.
    mkdir -p "$work/src" "$work/ctx/docker"
    cp -r "$ROOT/pyproject.toml" "$ROOT/schemas" "$ROOT/services" "$work/src/"
    find "$work/src" -name __pycache__ -prune -exec rm -rf {} +
    say "building wheels of kafkube and its dependencies"
    if ! "$py" -m pip wheel -q --disable-pip-version-check -w "$work/ctx/wheels" "$work/src" >"$work/pip.log" 2>&1; then
        tail -n 30 "$work/pip.log" >&2
        rm -rf "$work"
        die "pip wheel failed"
    fi
    cp -r "$ROOT/docker/bin" "$work/ctx/docker/bin"
    say "building $KAFKUBE_IMAGE from $BASE_IMAGE"
    (build "$KAFKUBE_IMAGE" "$hash" "$work/ctx" "$ROOT/docker/Dockerfile" "BASE=$BASE_IMAGE") ||
        { rm -rf "$work"; exit 1; }
    rm -rf "$work"
}

fetch_jars() {  # the same jars as the tests use, from the same cache (scripts/kafka.sh)
    KAFKUBE_CACHE="$CACHE" bash "$ROOT/scripts/kafka.sh" fetch >/dev/null
    KAFKUBE_CACHE="$CACHE" bash "$ROOT/scripts/kafka.sh" fetch-tools >/dev/null
}

ensure_kafka_image() {
    fetch_jars
    local hash
    hash="$(docker image inspect -f '{{.Id}}' "$BASE_IMAGE" | cut -c8-19)-$(tree_hash docker/kafka.Dockerfile docker/kafka)-$(cd "$LIBS" && ls | sha256sum | cut -c1-8)-$(cd "$TOOLS" && ls | sha256sum | cut -c1-8)"
    if [[ -z "${KAFKUBE_REBUILD_IMAGES:-}" && "$(image_hash "$KAFKA_IMAGE")" == "$hash" ]]; then
        return 0
    fi
    local work
    work=$(mktemp -d "${TMPDIR:-/tmp}/kafkube-kafka.XXXXXX")
    mkdir -p "$work/docker"
    cp -r "$LIBS" "$work/libs"
    rm -f "$work/libs/.complete"
    cp -r "$TOOLS" "$work/tools"
    rm -f "$work/tools/.complete"
    cp -r "$ROOT/docker/kafka" "$work/docker/kafka"
    say "building $KAFKA_IMAGE from $BASE_IMAGE (Debian's openjdk-17-jre-headless)"
    (build "$KAFKA_IMAGE" "$hash" "$work" "$ROOT/docker/kafka.Dockerfile" "BASE=$BASE_IMAGE") ||
        { rm -rf "$work"; exit 1; }
    rm -rf "$work"
}

ensure_prometheus_image() {
    local hash
    hash="$(docker image inspect -f '{{.Id}}' "$BASE_IMAGE" | cut -c8-19)-$(tree_hash docker/prometheus/Dockerfile)"
    if [[ -z "${KAFKUBE_REBUILD_IMAGES:-}" && "$(image_hash "$PROMETHEUS_IMAGE")" == "$hash" ]]; then
        return 0
    fi
    local work
    work=$(mktemp -d "${TMPDIR:-/tmp}/kafkube-prometheus.XXXXXX")
    say "building $PROMETHEUS_IMAGE from $BASE_IMAGE (Debian's prometheus)"
    (build "$PROMETHEUS_IMAGE" "$hash" "$work" "$ROOT/docker/prometheus/Dockerfile" "BASE=$BASE_IMAGE") ||
        { rm -rf "$work"; exit 1; }
    rm -rf "$work"
}

main() {
    bash "$HERE/docker.sh" ensure
    bash "$HERE/images.sh"
    ensure_base
    ensure_kafka_image
    ensure_kafkube_image
    ensure_prometheus_image
    # Dangling layers of replaced images are not worth keeping.
    docker image prune -f --filter "label=$HASH_LABEL" >/dev/null 2>&1 || true
    echo "KAFKUBE_IMAGE=$KAFKUBE_IMAGE"
    echo "KAFKA_IMAGE=$KAFKA_IMAGE"
    echo "PROMETHEUS_IMAGE=$PROMETHEUS_IMAGE"
}

main "$@"
