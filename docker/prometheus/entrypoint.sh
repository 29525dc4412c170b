#!/bin/sh
# Prometheus of the `monitoring` compose profile: writes the file_sd targets of the
# host-network services (prometheus.yml's `host-network` job) from
# KAFKUBE_HOST_METRICS_TARGETS, e.g. "proxy=10249 kubelet=10255 kubelet=10265" (job=port,
# reached at KAFKUBE_HOST_METRICS_HOST, default host.docker.internal), then runs prometheus
# with the arguments given. POSIX sh: it runs in prom/prometheus (busybox) and in
# kafkube/prometheus (Debian) alike. KAFKUBE_TARGETS_DIR: where the files go (the tests').
set -eu
dir="${KAFKUBE_TARGETS_DIR:-/tmp/kafkube-targets}"
host="${KAFKUBE_HOST_METRICS_HOST:-host.docker.internal}"
mkdir -p "$dir"
rm -f "$dir"/*.json
set -f  # the pairs are words, never file name patterns
for pair in ${KAFKUBE_HOST_METRICS_TARGETS:-}; do
    job="${pair%%=*}"
    port="${pair#*=}"
    case "$job:$port" in
        *[!a-z0-9-]*:*|:*|*:*[!0-9]*|*:|*:0*)
            echo "entrypoint.sh: KAFKUBE_HOST_METRICS_TARGETS: '$pair' is not job=port (a job of a-z, 0-9 and -; a port without leading zeros)" >&2
            exit 1 ;;
    esac
    if [ "${#port}" -gt 5 ] || [ "$port" -gt 65535 ]; then
        echo "entrypoint.sh: KAFKUBE_HOST_METRICS_TARGETS: '$pair': the port is above 65535" >&2
        exit 1
    fi
    printf '[{"targets": ["%s:%s"], "labels": {"job": "%s"}}]\n' "$host" "$port" "$job" >"$dir/$job-$port.json"
done
exec prometheus "$@"
