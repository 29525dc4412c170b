#!/usr/bin/env bash
# Build Helm 3 (the real `helm` the apiserver's tests drive) once, with the Go toolchain,
# into a cache every checkout of this machine reuses:
#
#   ~/.cache/kafkube/helm/<version>/helm     (KAFKUBE_CACHE_DIR overrides ~/.cache/kafkube)
#
# Prints the binary's path on stdout. Re-running is instant when the binary exists; a
# fresh machine builds it in a few minutes (`go install` from the Go module proxy, the
# module cache kept under the same cache dir). GO overrides the toolchain
# (default: go on PATH, else /usr/local/go/bin/go).
set -euo pipefail

HELM_VERSION=v3.22.0
CACHE_DIR="${KAFKUBE_CACHE_DIR:-$HOME/.cache/kafkube}"
DEST="$CACHE_DIR/helm/$HELM_VERSION"

say() { echo "helm.sh: $*" >&2; }
die() { echo "helm.sh: ERROR: $*" >&2; exit 1; }

if [[ -x "$DEST/helm" ]]; then
    echo "$DEST/helm"
    exit 0
fi
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
[[ -x "$GO" ]] || die "no Go toolchain (set GO, or install Go to /usr/local/go)"
mkdir -p "$DEST" "$CACHE_DIR/go"
say "building helm $HELM_VERSION with $("$GO" version) (a few minutes, once)"
tmp="$(mktemp -d "$DEST.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
GOBIN="$tmp" GOPATH="$CACHE_DIR/go" GOFLAGS="-modcacherw" CGO_ENABLED=0 \
    "$GO" install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
mv "$tmp/helm" "$DEST/helm"  # atomic: a concurrent run sees either nothing or the whole binary
"$DEST/helm" version --short >&2
echo "$DEST/helm"
