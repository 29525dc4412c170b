#!/usr/bin/env bash
# Build the Docker Compose v2 CLI plugin (`docker compose`, as the README's users type it)
# once, with the Go toolchain, into a cache every checkout of this machine reuses, and
# install it as the Docker CLI's plugin:
#
#   ~/.cache/kafkube/compose/<version>/docker-compose   (KAFKUBE_CACHE_DIR overrides ~/.cache/kafkube)
#   ~/.docker/cli-plugins/docker-compose                 (DOCKER_CONFIG overrides ~/.docker)
#
# Prints the plugin's path on stdout. Re-running is instant when the binary is cached; a
# fresh machine builds it in about two minutes on 2 cores. `go install ...@version` refuses
# the module (its go.mod has exclude directives), so it is downloaded from the Go module
# proxy and built inside a writable copy (../shared/LIBRARY-NOTES.md, "Docker Compose v2").
# GO overrides the toolchain (default: go on PATH, else /usr/local/go/bin/go).
set -euo pipefail

COMPOSE_VERSION=v2.40.3
CACHE_DIR="${KAFKUBE_CACHE_DIR:-$HOME/.cache/kafkube}"
DEST="$CACHE_DIR/compose/$COMPOSE_VERSION"
PLUGIN_DIR="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"

say() { echo "compose-v2.sh: $*" >&2; }
die() { echo "compose-v2.sh: ERROR: $*" >&2; exit 1; }

if [[ ! -x "$DEST/docker-compose" ]]; then
    GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
    [[ -x "$GO" ]] || die "no Go toolchain (set GO, or install Go to /usr/local/go)"
    mkdir -p "$DEST" "$CACHE_DIR/go"
    say "building Docker Compose $COMPOSE_VERSION with $("$GO" version) (about two minutes, once)"
    export GOPATH="$CACHE_DIR/go" GOFLAGS="-modcacherw" CGO_ENABLED=0
    src="$("$GO" mod download -json "github.com/docker/compose/v2@$COMPOSE_VERSION" |
        python3 -c 'import json, sys; print(json.load(sys.stdin).get("Dir", ""))')"
    [[ -d "$src" ]] || die "go mod download gave no module directory for compose $COMPOSE_VERSION"
    tmp="$(mktemp -d "$DEST.build.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    cp -r "$src/." "$tmp/src"
    chmod -R u+w "$tmp/src"
    (cd "$tmp/src" && "$GO" build -trimpath \
        -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" \
        -o "$tmp/docker-compose" ./cmd) >&2
    mv "$tmp/docker-compose" "$DEST/docker-compose"  # atomic: a concurrent run sees nothing or all
fi

mkdir -p "$PLUGIN_DIR"
if ! cmp -s "$DEST/docker-compose" "$PLUGIN_DIR/docker-compose"; then
    cp "$DEST/docker-compose" "$PLUGIN_DIR/docker-compose.tmp.$$"
    mv "$PLUGIN_DIR/docker-compose.tmp.$$" "$PLUGIN_DIR/docker-compose"
fi
docker compose version >&2 || die "the Docker CLI does not run the plugin in $PLUGIN_DIR"
echo "$PLUGIN_DIR/docker-compose"
