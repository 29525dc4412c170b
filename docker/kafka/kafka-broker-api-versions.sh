#!/bin/bash
# Healthcheck shim of the locally built Kafka image, at the path the official image has
# kafka-broker-api-versions.sh: exit 0 if the broker accepts connections on the address
# given with --bootstrap-server (the official tool also lists the API versions; its jar,
# kafka-tools, is not among the jars this image carries).
set -euo pipefail
server=localhost:9092
while [[ $# -gt 0 ]]; do
    case "$1" in
        --bootstrap-server) server=$2; shift 2 ;;
        *) shift ;;
    esac
done
server=${server%%,*}
host=${server%:*}
port=${server##*:}
exec 3<>"/dev/tcp/$host/$port" || exit 1
exec 3>&-
echo "$server: connected"
