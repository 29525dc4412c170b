#!/usr/bin/env bash
# A single-node Apache Kafka (KRaft) broker for development and tests.
#
#   scripts/kafka.sh start    start (or reuse) the broker; prints KAFKA_BOOTSTRAP_SERVERS=host:port
#   scripts/kafka.sh stop     stop the broker started by `start` and remove its state
#   scripts/kafka.sh status   print the address if the recorded broker is running (exit 1 if not)
#   scripts/kafka.sh logs     print the tail of the broker log
#   scripts/kafka.sh fetch    only fetch the broker jars (once); prints their directory
#
# If KAFKA_BOOTSTRAP_SERVERS is set, `start` only checks that it answers and prints it.
# Otherwise the broker jars are fetched once from Maven Central (scripts/kafka/pom.xml) into
#   $KAFKUBE_CACHE/kafka-4.1.1/libs          (KAFKUBE_CACHE defaults to ~/.cache/kafkube)
# and the broker runs on free 127.0.0.1 ports with its data, logs, pid and address in
#   $KAFKUBE_KAFKA_STATE                     (defaults to $KAFKUBE_CACHE/run/kafka)
# Needs: java (17+), mvn (only for the first fetch), python3.
set -euo pipefail

KAFKA_VERSION=4.1.1
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${KAFKUBE_CACHE:-${HOME:-/tmp}/.cache/kafkube}"
LIBS="$CACHE/kafka-$KAFKA_VERSION/libs"
STATE="${KAFKUBE_KAFKA_STATE:-$CACHE/run/kafka}"
START_TIMEOUT="${KAFKUBE_KAFKA_START_TIMEOUT:-120}"
HEAP="${KAFKUBE_KAFKA_HEAP:--Xms256m -Xmx512m}"

say() { echo "kafka.sh: $*" >&2; }
die() { echo "kafka.sh: ERROR: $*" >&2; exit 1; }

# Install Debian packages, but only where that is clearly wanted: on CI (CI=true) as root
# with apt-get. Elsewhere the caller gets a message naming what to install.
apt_install() {
    if [[ "${CI:-}" == "true" && $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        say "installing $* (apt-get)"
        export DEBIAN_FRONTEND=noninteractive
        if [[ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -60 -print -quit 2>/dev/null)" ]]; then
            apt-get update -qq || die "apt-get update failed"
        fi
        apt-get install -y -qq --no-install-recommends "$@" >/dev/null || die "apt-get install $* failed"
        return 0
    fi
    return 1
}

need_java() {
    command -v java >/dev/null || apt_install openjdk-17-jre-headless ||
        die "java not found: install Java 17 (apt-get install openjdk-17-jre-headless)"
    command -v java >/dev/null || die "java still not found after installing openjdk-17-jre-headless"
    local v
    v=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
    [[ -n "$v" && "$v" -ge 17 ]] ||
        die "java $v is too old: Kafka $KAFKA_VERSION needs Java 17+ (apt-get install openjdk-17-jre-headless)"
}

need_mvn() {
    command -v mvn >/dev/null || apt_install maven ||
        die "mvn not found: install Maven 3 (apt-get install maven); it fetches the Kafka jars once"
    command -v mvn >/dev/null || die "mvn still not found after installing maven"
}

need_python() {
    command -v python3 >/dev/null || die "python3 not found: install Python 3 (apt-get install python3)"
}

# tcp_ok HOST:PORT [TIMEOUT]: true if a TCP connection succeeds. Accepts a comma-separated list
# (true if any answers) and strips a PLAINTEXT:// style scheme.
tcp_ok() {
    python3 - "$1" "${2:-3}" <<'PY'
import socket, sys
ok = False
for addr in sys.argv[1].split(","):
    addr = addr.strip().split("://")[-1]
    if not addr:
        continue
    host, _, port = addr.rpartition(":")
    try:
        socket.create_connection((host.strip("[]") or "localhost", int(port)), timeout=float(sys.argv[2])).close()
        ok = True
        break
    except (OSError, ValueError):
        pass
sys.exit(0 if ok else 1)
PY
}

free_ports() {  # prints two distinct free localhost ports
    python3 - <<'PY'
import socket
socks = []
for _ in range(2):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
PY
}

fetch_jars() {
    if [[ -f "$LIBS/.complete" ]]; then
        return 0
    fi
    need_mvn
    say "fetching Kafka $KAFKA_VERSION jars into $LIBS (once)"
    local tmp
    mkdir -p "$(dirname "$LIBS")"
    tmp=$(mktemp -d "$(dirname "$LIBS")/fetch.XXXXXX")
    cp "$HERE/kafka/pom.xml" "$tmp/pom.xml"
    if ! (cd "$tmp" && mvn -q -B -Dstyle.color=never dependency:copy-dependencies \
            -DoutputDirectory="$tmp/libs" >"$tmp/mvn.log" 2>&1); then
        tail -n 40 "$tmp/mvn.log" >&2 || true
        rm -rf "$tmp"
        die "mvn could not fetch the Kafka jars (see above; Maven Central must be reachable)"
    fi
    ls "$tmp"/libs/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 ||
        { rm -rf "$tmp"; die "mvn finished but kafka_2.13-$KAFKA_VERSION.jar is missing"; }
    touch "$tmp/libs/.complete"
    rm -rf "$LIBS"
    mv "$tmp/libs" "$LIBS"
    rm -rf "$tmp"
}

# The broker recorded in $STATE is alive (its pid runs kafka.Kafka and its port answers).
recorded_alive() {
    [[ -f "$STATE/pid" && -f "$STATE/bootstrap" ]] || return 1
    local pid
    pid=$(cat "$STATE/pid")
    [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'kafka\.Kafka' || return 1
    tcp_ok "$(cat "$STATE/bootstrap")" 3
}

log_tail() {
    local f
    for f in "$STATE/logs/server.log" "$STATE/stdout.log"; do
        if [[ -s "$f" ]]; then
            echo "----- last lines of $f -----" >&2
            tail -n 40 "$f" >&2
        fi
    done
}

write_config() {  # $1 = broker port, $2 = controller port
    local port=$1 cport=$2
    cat >"$STATE/server.properties" <<EOF
# Generated by scripts/kafka.sh: single-node KRaft test broker.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$STATE/data

num.partitions=3
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false
delete.topic.enable=true

# Internal topics on one node.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Quick groups and transactions for tests.
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
transaction.abort.timed.out.transaction.cleanup.interval.ms=10000
transaction.remove.expired.transaction.cleanup.interval.ms=60000

# Compaction runs soon enough to be observable.
log.cleaner.backoff.ms=1000
log.retention.check.interval.ms=60000

num.network.threads=2
num.io.threads=4
EOF
    cat >"$STATE/log4j2.yaml" <<EOF
Configuration:
  status: warn
  Appenders:
    RollingFile:
      name: file
      fileName: "$STATE/logs/server.log"
      filePattern: "$STATE/logs/server.log.%i"
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
      Policies:
        SizeBasedTriggeringPolicy:
          size: 20MB
      DefaultRolloverStrategy:
        max: 2
  Loggers:
    Root:
      level: WARN
      AppenderRef:
        - ref: file
    Logger:
      - name: kafka.server.KafkaRaftServer
        level: INFO
      - name: kafka.server.BrokerServer
        level: INFO
      - name: kafka.server.ControllerServer
        level: INFO
      - name: kafka.Kafka
        level: INFO
EOF
}

cmd_start() {
    need_python
    if [[ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; then
        tcp_ok "$KAFKA_BOOTSTRAP_SERVERS" 5 ||
            die "KAFKA_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP_SERVERS does not answer (TCP connect failed); unset it to start a local broker"
        echo "KAFKA_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP_SERVERS"
        return 0
    fi

    mkdir -p "$CACHE"
    exec 9>"$CACHE/kafka.lock"
    flock -w 300 9 || die "timed out waiting for another scripts/kafka.sh (lock $CACHE/kafka.lock)"

    if recorded_alive; then
        say "reusing the running broker (pid $(cat "$STATE/pid"))"
        echo "KAFKA_BOOTSTRAP_SERVERS=$(cat "$STATE/bootstrap")"
        return 0
    fi
    if [[ -f "$STATE/pid" ]]; then  # a recorded broker that is gone or broken
        stop_pid "$(cat "$STATE/pid")"
    fi

    need_java
    fetch_jars

    rm -rf "$STATE"
    mkdir -p "$STATE/data" "$STATE/logs"
    local port cport
    read -r port cport < <(free_ports)
    write_config "$port" "$cport"

    local cluster_id
    cluster_id=$(java -cp "$LIBS/*" kafka.tools.StorageTool random-uuid 2>"$STATE/format.log" | tail -n 1)
    [[ -n "$cluster_id" ]] || { cat "$STATE/format.log" >&2; die "kafka.tools.StorageTool random-uuid failed"; }
    if ! java -cp "$LIBS/*" -Dlog4j2.configurationFile="$STATE/log4j2.yaml" kafka.tools.StorageTool format \
            --config "$STATE/server.properties" --cluster-id "$cluster_id" >>"$STATE/format.log" 2>&1; then
        cat "$STATE/format.log" >&2
        die "formatting the KRaft storage in $STATE/data failed"
    fi

    say "starting Kafka $KAFKA_VERSION on 127.0.0.1:$port (state in $STATE)"
    # setsid: the broker outlives this script and the make/pytest that ran it (it is reused);
    # no inherited stdin/stdout keeps callers' pipes from hanging on it, and it must not hold the lock (fd 9).
    # shellcheck disable=SC2086
    ( exec setsid java $HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$STATE/log4j2.yaml" \
        -cp "$LIBS/*" kafka.Kafka "$STATE/server.properties" \
        </dev/null >"$STATE/stdout.log" 2>&1 9>&- ) &
    local pid=$!
    echo "$pid" >"$STATE/pid"

    local deadline=$((SECONDS + START_TIMEOUT))
    until grep -q 'Kafka Server started' "$STATE/logs/server.log" 2>/dev/null &&
          tcp_ok "127.0.0.1:$port" 2; do
        if ! kill -0 "$pid" 2>/dev/null; then
            log_tail
            rm -f "$STATE/pid"
            die "the Kafka broker exited during start-up (see the log above; full logs in $STATE)"
        fi
        if ((SECONDS >= deadline)); then
            log_tail
            stop_pid "$pid"
            die "the Kafka broker was not ready within ${START_TIMEOUT}s (see the log above)"
        fi
        sleep 0.5
    done
    echo "127.0.0.1:$port" >"$STATE/bootstrap"
    say "ready after ${SECONDS}s"
    echo "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$port"
}

stop_pid() {  # SIGTERM, then SIGKILL after 20 s; only if the pid is a kafka.Kafka process
    local pid=$1 i
    [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 0
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'kafka\.Kafka' || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 40; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.5
    done
    say "broker $pid did not stop within 20s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.25
    done
}

cmd_stop() {
    mkdir -p "$CACHE"
    exec 9>"$CACHE/kafka.lock"
    flock -w 60 9 || die "timed out waiting for another scripts/kafka.sh (lock $CACHE/kafka.lock)"
    if [[ -f "$STATE/pid" ]]; then
        local pid
        pid=$(cat "$STATE/pid")
        say "stopping broker pid $pid"
        stop_pid "$pid"
    else
        say "no broker recorded in $STATE"
    fi
    rm -rf "$STATE"
}

cmd_status() {
    need_python
    if recorded_alive; then
        echo "KAFKA_BOOTSTRAP_SERVERS=$(cat "$STATE/bootstrap")"
    else
        say "not running"
        return 1
    fi
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    logs) log_tail ;;
    fetch) fetch_jars && echo "$LIBS" ;;
    *)
        echo "usage: $0 start|stop|status|logs|fetch" >&2
        exit 2
        ;;
esac
