#!/usr/bin/env bash
# Remove the pod containers the compose kubelets left on this host's Docker Engine (after a
# kubelet was killed or crashed; a kubelet that is stopped normally removes its own).
#
#   docker/cleanup.sh                 the nodes of docker-compose.yml: $KUBELET_1_NODE and
#                                     $KUBELET_2_NODE (from the environment or ./.env;
#                                     default node-1 node-2)
#   docker/cleanup.sh NODE...         these nodes
#   docker/cleanup.sh --all           every Kafkube pod container on this Engine, whatever
#                                     its node (also other clusters' and tests'!)
#
# Containers are found by the label io.kafkube.node that the kubelet puts on all of them.
# Stop the kubelets first: a running kubelet recreates its pods' containers.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

from_env_file() {  # value of $1 in ./.env, if any
    [[ -f .env ]] && sed -n "s/^$1=//p" .env | tail -n 1 || true
}

filters=()
if [[ "${1:-}" == --all ]]; then
    filters=("label=io.kafkube.node")
else
    nodes=("$@")
    if ((${#nodes[@]} == 0)); then
        nodes=("${KUBELET_1_NODE:-$(from_env_file KUBELET_1_NODE)}" "${KUBELET_2_NODE:-$(from_env_file KUBELET_2_NODE)}")
        [[ -n "${nodes[0]}" ]] || nodes[0]=node-1
        [[ -n "${nodes[1]}" ]] || nodes[1]=node-2
    fi
    for n in "${nodes[@]}"; do filters+=("label=io.kafkube.node=$n"); done
fi

ids=()
for f in "${filters[@]}"; do
    while read -r id; do [[ -n "$id" ]] && ids+=("$id"); done < <(docker ps -aq --filter "$f")
done
if ((${#ids[@]} == 0)); then
    echo "cleanup.sh: no pod containers to remove"
    exit 0
fi
docker rm -f -v "${ids[@]}" >/dev/null
echo "cleanup.sh: removed ${#ids[@]} pod container(s)"
