#!/usr/bin/env bash
# A single-node Apache Kafka (KRaft) broker for development and tests.
#
#   scripts/kafka.sh start    start (or reuse) the broker; prints KAFKA_BOOTSTRAP_SERVERS=host:port
#   scripts/kafka.sh stop     stop the broker started by `start` and remove its state
#   scripts/kafka.sh status   print the address if the recorded broker is running (exit 1 if not)
#   scripts/kafka.sh logs     print the tail of the broker log
#   scripts/kafka.sh fetch    only fetch the broker jars (once); prints their directory
#   scripts/kafka.sh fetch-tools  only fetch the tools jars (kafka-acls; once); prints their directory
#   scripts/kafka.sh cluster N   start N brokers (KRaft, each broker+controller, N voters) in
#                             $KAFKUBE_KAFKA_STATE/node-<i>, replication factor min(N,3),
#                             min.insync.replicas 2 when N >= 3; prints KAFKA_BOOTSTRAP_SERVERS=a,b,c
#   scripts/kafka.sh resume   restart the recorded broker(s) that are not running, from their
#                             own config and data (same ports); prints KAFKA_BOOTSTRAP_SERVERS
#   scripts/kafka.sh pids     print the pid of each recorded broker that runs, one a line
#   scripts/kafka.sh start-secure   start (or reuse) a locked-down broker (docs/kafka-acls.md):
#                             one KRaft node with a SASL_PLAINTEXT (SCRAM-SHA-512) listener,
#                             StandardAuthorizer, nothing allowed without an ACL; a SCRAM user
#                             per Kafkube principal (services/runtime/kafka_auth.py) created at
#                             format time with random passwords in $KAFKUBE_KAFKA_CREDENTIALS
#                             (default $STATE/credentials: <principal>.password, 0600; kept
#                             when they exist) and the ACLs for topics under
#                             $KAFKUBE_TOPIC_PREFIX (default kafkube.). Its own state
#                             ($CACHE/run/kafka-secure unless KAFKUBE_KAFKA_STATE) and ports: the
#                             plain test broker is left alone. Prints KAFKA_BOOTSTRAP_SERVERS=,
#                             KAFKUBE_KAFKA_SECURITY_PROTOCOL=, KAFKUBE_KAFKA_SASL_MECHANISM= and
#                             KAFKUBE_KAFKA_CREDENTIALS=DIR lines
#   scripts/kafka.sh acls PREFIX    add the ACLs for topics under PREFIX to the secure broker
#   scripts/kafka.sh stop-secure    stop the secure broker and remove its state
#
# Extra brokers for tests that kill them (never the shared one): give each its own state
# directory, e.g. `KAFKUBE_KAFKA_STATE=/tmp/k1 KAFKA_BOOTSTRAP_SERVERS= scripts/kafka.sh start`
# (a dedicated single broker on free ports) or `KAFKUBE_KAFKA_STATE=/tmp/k3 scripts/kafka.sh
# cluster 3`; `KAFKUBE_KAFKA_STATE=... scripts/kafka.sh stop` stops it and removes its state.
#
# If KAFKA_BOOTSTRAP_SERVERS is set, `start` only checks that it answers and prints it.
# Otherwise the broker jars are fetched once from Maven Central (scripts/kafka/pom.xml) into
#   $KAFKUBE_CACHE/kafka-4.1.1/libs          (KAFKUBE_CACHE defaults to ~/.cache/kafkube)
# and the broker runs on free 127.0.0.1 ports with its data, logs, pid and address in
#   $KAFKUBE_KAFKA_STATE                     (defaults to $KAFKUBE_CACHE/run/kafka)
# The JVM's heap and collector: $KAFKUBE_KAFKA_HEAP and $KAFKUBE_KAFKA_GC (defaults below;
# the G1 broker of before 2026-11-29: KAFKUBE_KAFKA_GC="-XX:+UseG1GC -XX:MaxGCPauseMillis=20"
# KAFKUBE_KAFKA_HEAP="-Xms256m -Xmx512m"); the compaction key map: $KAFKUBE_KAFKA_DEDUPE_BYTES
# (16 MiB); the JIT compilers: $KAFKUBE_KAFKA_JIT (C1 only; "" gives the JVM's C1 and C2).
# The collector's log: $KAFKUBE_KAFKA_STATE/logs/gc.log (two files of 10 MB at most).
# Broker settings of an experiment: $KAFKUBE_KAFKA_PROPERTIES (key=value lines, appended to
# the generated server.properties, before a secure broker's SASL lines; like the settings
# above, read only when a broker is started, not by one already running).
# Needs: java (17+), mvn (only for the first fetch), python3.
set -euo pipefail

KAFKA_VERSION=4.1.1
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${KAFKUBE_CACHE:-${HOME:-/tmp}/.cache/kafkube}"
LIBS="$CACHE/kafka-$KAFKA_VERSION/libs"
TOOLS="$CACHE/kafka-$KAFKA_VERSION/tools"  # kafka-tools (AclCommand) and its dependencies
ROOT="$(cd "$HERE/.." && pwd)"
STATE="${KAFKUBE_KAFKA_STATE:-$CACHE/run/kafka}"
START_TIMEOUT="${KAFKUBE_KAFKA_START_TIMEOUT:-120}"
# The serial collector, and a heap that starts small: G1 commits its whole initial heap and
# ~10 % more for its own tables, and a one-node broker's live heap is small (section 5 of
# docs/benchmarks.md: the same throughput, ~50 MiB less than G1).
HEAP="${KAFKUBE_KAFKA_HEAP:--Xms64m -Xmx512m}"
GC="${KAFKUBE_KAFKA_GC:--XX:+UseSerialGC}"
# C1 only: C2's compilations took ~40 % of a fresh broker's CPU in its first minutes under
# load, on the same cores as the services, and a warm broker of C1 code costs about as much
# CPU per request as one of C2 code (docs/benchmarks.md, section 5, "The broker's compiler").
JIT="${KAFKUBE_KAFKA_JIT--XX:TieredStopAtLevel=1}"

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

fetch_tools() {  # org.apache.kafka:kafka-tools, in its own directory (scripts/kafka/tools-pom.xml)
    if [[ -f "$TOOLS/.complete" ]]; then
        return 0
    fi
    need_mvn
    say "fetching Kafka $KAFKA_VERSION tools (kafka-acls) into $TOOLS (once)"
    local tmp
    mkdir -p "$(dirname "$TOOLS")"
    tmp=$(mktemp -d "$(dirname "$TOOLS")/fetch.XXXXXX")
    cp "$HERE/kafka/tools-pom.xml" "$tmp/pom.xml"
    if ! (cd "$tmp" && mvn -q -B -Dstyle.color=never dependency:copy-dependencies \
            -DoutputDirectory="$tmp/tools" >"$tmp/mvn.log" 2>&1); then
        tail -n 40 "$tmp/mvn.log" >&2 || true
        rm -rf "$tmp"
        die "mvn could not fetch the Kafka tools jars (see above; Maven Central must be reachable)"
    fi
    ls "$tmp"/tools/kafka-tools-"$KAFKA_VERSION".jar >/dev/null 2>&1 ||
        { rm -rf "$tmp"; die "mvn finished but kafka-tools-$KAFKA_VERSION.jar is missing"; }
    touch "$tmp/tools/.complete"
    rm -rf "$TOOLS"
    mv "$tmp/tools" "$TOOLS"
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

# write_config PORT CPORT [DIR NODE_ID VOTERS RF MIN_ISR]: server.properties and log4j2.yaml in
# DIR (default $STATE). Without the optional arguments: the single-node test broker.
write_config() {
    local port=$1 cport=$2 dir=${3:-$STATE} id=${4:-1} voters=${5:-1@127.0.0.1:$2} rf=${6:-1} isr=${7:-1}
    local what="single-node KRaft test broker"
    [[ $# -gt 2 ]] && what="KRaft test cluster node $id (voters $voters)"
    cat >"$dir/server.properties" <<EOF
# Generated by scripts/kafka.sh: $what.
process.roles=broker,controller
node.id=$id
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data

num.partitions=3
default.replication.factor=$rf
min.insync.replicas=$isr
auto.create.topics.enable=false
delete.topic.enable=true

# Internal topics, replicated over the cluster's nodes.
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr

# Quick groups and transactions for tests.
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
transaction.abort.timed.out.transaction.cleanup.interval.ms=10000
transaction.remove.expired.transaction.cleanup.interval.ms=60000

# Compaction runs soon enough to be observable. Its key map is 16 MiB, not Kafka's 128: the
# map is allocated whole when the cleaner starts and was most of an idle broker's heap;
# 16 MiB holds ~600,000 keys per cleaning pass (docs/benchmarks.md, section 5).
log.cleaner.backoff.ms=1000
log.cleaner.dedupe.buffer.size=${KAFKUBE_KAFKA_DEDUPE_BYTES:-16777216}
log.retention.check.interval.ms=60000

num.network.threads=2
num.io.threads=4
EOF
    # more broker settings for an experiment, one `key=value` a line, after (so over) the above
    [[ -z "${KAFKUBE_KAFKA_PROPERTIES:-}" ]] || printf '%s\n' "$KAFKUBE_KAFKA_PROPERTIES" >>"$dir/server.properties"
    cat >"$dir/log4j2.yaml" <<EOF
Configuration:
  status: warn
  Appenders:
    RollingFile:
      name: file
      fileName: "$dir/logs/server.log"
      filePattern: "$dir/logs/server.log.%i"
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
    local pid
    pid=$(launch "$STATE")
    wait_ready "$STATE" "$port" "$pid"
    echo "127.0.0.1:$port" >"$STATE/bootstrap"
    say "ready after ${SECONDS}s"
    echo "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$port"
}

# launch DIR: start the broker configured in DIR in the background; records and prints its pid.
launch() {
    local dir=$1
    # setsid: the broker outlives this script and the make/pytest that ran it (it is reused);
    # no inherited stdin/stdout keeps callers' pipes from hanging on it, and it must not hold the lock (fd 9).
    # shellcheck disable=SC2086
    ( exec setsid java $HEAP $GC $JIT -Xlog:gc:file="$dir/logs/gc.log":time,uptime:filecount=2,filesize=10m \
        -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$dir/log4j2.yaml" \
        -cp "$LIBS/*" kafka.Kafka "$dir/server.properties" \
        </dev/null >>"$dir/stdout.log" 2>&1 9>&- ) >/dev/null &
    echo "$!" >"$dir/pid"
    echo "$!"
}

# wait_ready DIR PORT PID [SINCE]: until DIR's broker logged its start (after line SINCE of
# its log) and PORT answers; dies (stopping it) if it exits or is not ready in time.
wait_ready() {
    local dir=$1 port=$2 pid=$3 since=${4:-0}
    local deadline=$((SECONDS + START_TIMEOUT))
    until tail -n "+$((since + 1))" "$dir/logs/server.log" 2>/dev/null | grep -q 'Kafka Server started' &&
          tcp_ok "127.0.0.1:$port" 2; do
        if ! kill -0 "$pid" 2>/dev/null; then
            STATE=$dir log_tail
            rm -f "$dir/pid"
            die "the Kafka broker exited during start-up (see the log above; full logs in $dir)"
        fi
        if ((SECONDS >= deadline)); then
            STATE=$dir log_tail
            stop_pid "$pid"
            die "the Kafka broker was not ready within ${START_TIMEOUT}s (see the log above)"
        fi
        sleep 0.5
    done
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
    elif ! compgen -G "$STATE/node-*/pid" >/dev/null; then
        say "no broker recorded in $STATE"
    fi
    local node
    for node in "$STATE"/node-*/; do  # the nodes of a `cluster`, all at once
        [[ -f "$node/pid" ]] && { say "stopping broker pid $(cat "$node/pid") ($node)"; stop_pid "$(cat "$node/pid")" & }
    done
    wait
    rm -rf "$STATE"
}

# The state directories of the recorded broker(s): $STATE itself, or each node of a cluster.
node_dirs() {
    if [[ -f "$STATE/server.properties" ]]; then
        echo "$STATE"
    else
        local d
        for d in "$STATE"/node-*; do [[ -f "$d/server.properties" ]] && echo "$d"; done
    fi
    return 0
}

port_of() {  # port_of DIR: the broker port (PLAINTEXT; SASL on the secure one) in DIR's server.properties
    sed -n 's|^listeners=[A-Z_]*://[^:]*:\([0-9]*\),.*|\1|p' "$1/server.properties"
}

pid_alive() {  # pid_alive DIR: DIR's recorded pid runs kafka.Kafka
    local pid
    [[ -f "$1/pid" ]] || return 1
    pid=$(cat "$1/pid")
    [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'kafka\.Kafka'
}

# cluster N: N combined broker+controller nodes on free ports, each a voter of the KRaft
# quorum; replication factor min(N, 3) for every topic (internal ones too) and
# min.insync.replicas 2 from three nodes on, so one node may be lost for good.
cmd_cluster() {
    local n=${1:-3}
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "usage: $0 cluster N (N >= 1)"
    [[ -n "${KAFKUBE_KAFKA_STATE:-}" ]] || STATE="$CACHE/run/kafka-cluster"
    need_python
    need_java
    fetch_jars
    mkdir -p "$CACHE"
    exec 9>"$STATE.lock"
    flock -w 300 9 || die "timed out waiting for another scripts/kafka.sh (lock $STATE.lock)"
    local node
    for node in "$STATE"/node-*/; do [[ -f "$node/pid" ]] && stop_pid "$(cat "$node/pid")"; done
    rm -rf "$STATE"
    mkdir -p "$STATE"
    local rf=$((n < 3 ? n : 3)) isr=$((n >= 3 ? 2 : 1)) i voters="" ports=() cports=()
    for ((i = 1; i <= n; i++)); do
        local p c
        read -r p c < <(free_ports)
        ports+=("$p"); cports+=("$c")
        voters+="${voters:+,}$i@127.0.0.1:$c"
    done
    local cluster_id
    cluster_id=$(java -cp "$LIBS/*" kafka.tools.StorageTool random-uuid 2>"$STATE/format.log" | tail -n 1)
    [[ -n "$cluster_id" ]] || { cat "$STATE/format.log" >&2; die "kafka.tools.StorageTool random-uuid failed"; }
    local pids=() bootstrap=""
    for ((i = 1; i <= n; i++)); do
        local dir="$STATE/node-$i"
        mkdir -p "$dir/data" "$dir/logs"
        write_config "${ports[i-1]}" "${cports[i-1]}" "$dir" "$i" "$voters" "$rf" "$isr"
        java -cp "$LIBS/*" -Dlog4j2.configurationFile="$dir/log4j2.yaml" kafka.tools.StorageTool format \
            --config "$dir/server.properties" --cluster-id "$cluster_id" >>"$STATE/format.log" 2>&1 ||
            { cat "$STATE/format.log" >&2; die "formatting the KRaft storage in $dir/data failed"; }
        bootstrap+="${bootstrap:+,}127.0.0.1:${ports[i-1]}"
    done
    say "starting a $n-node Kafka $KAFKA_VERSION cluster on $bootstrap (state in $STATE)"
    for ((i = 1; i <= n; i++)); do pids+=("$(launch "$STATE/node-$i")"); done
    for ((i = 1; i <= n; i++)); do wait_ready "$STATE/node-$i" "${ports[i-1]}" "${pids[i-1]}"; done
    echo "$bootstrap" >"$STATE/bootstrap"
    say "ready after ${SECONDS}s"
    echo "KAFKA_BOOTSTRAP_SERVERS=$bootstrap"
}

# resume: start again, from their own config and data, the recorded brokers that do not run
# (after a test killed them); the running ones are left alone.
cmd_resume() {
    need_python
    [[ -n "$(node_dirs)" ]] || die "no broker recorded in $STATE (start one first)"
    need_java
    local dir started=() since=() pids=()
    while read -r dir; do
        pid_alive "$dir" && continue
        since+=("$(wc -l <"$dir/logs/server.log" 2>/dev/null || echo 0)")
        say "resuming the broker in $dir on 127.0.0.1:$(port_of "$dir")"
        pids+=("$(launch "$dir")")
        started+=("$dir")
    done < <(node_dirs)
    local i
    for ((i = 0; i < ${#started[@]}; i++)); do
        wait_ready "${started[i]}" "$(port_of "${started[i]}")" "${pids[i]}" "${since[i]}"
    done
    local bootstrap=""
    while read -r dir; do bootstrap+="${bootstrap:+,}127.0.0.1:$(port_of "$dir")"; done < <(node_dirs)
    echo "$bootstrap" >"$STATE/bootstrap"
    echo "KAFKA_BOOTSTRAP_SERVERS=$bootstrap"
}

cmd_pids() {
    local dir
    while read -r dir; do pid_alive "$dir" && cat "$dir/pid"; done < <(node_dirs)
    return 0
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

# ---- the secure broker (docs/kafka-acls.md) ----------------------------------------------

SECURE_PRINCIPALS=(kafkube-api kafkube-apiserver kafkube-scheduler kafkube-controllers kafkube-endpoints
                   kafkube-proxy kafkube-kubelet kafkube-user kafkube-ingress kafkube-dashboard)  # services/runtime/kafka_auth.py PRINCIPALS
BROKER_USER=kafkube-broker  # the broker's own login (inter-broker) and the ACL admin: a super user

secure_state() { [[ -n "${KAFKUBE_KAFKA_STATE:-}" ]] || STATE="$CACHE/run/kafka-secure"; }
secure_creds() { echo "${KAFKUBE_KAFKA_CREDENTIALS:-$STATE/credentials}"; }

kafkube_python() {  # the project's interpreter (services.runtime.kafka_auth holds the ACL table)
    local py="${KAFKUBE_PYTHON:-$ROOT/.venv/bin/python}"
    [[ -x "$py" ]] || py=$(command -v python3)
    echo "$py"
}

# password_for NAME: NAME's password in the credentials directory, generated (0600) if missing.
password_for() {
    local dir file
    dir=$(secure_creds)
    file="$dir/$1.password"
    if [[ ! -s "$file" ]]; then
        (umask 077; mkdir -p "$dir"; python3 -c 'import secrets; print(secrets.token_urlsafe(24))' >"$file.tmp")
        mv "$file.tmp" "$file"
    fi
    cat "$file"
}

# write_secure_config PORT CPORT: the locked-down single node (SASL_PLAINTEXT + SCRAM-SHA-512
# for clients and inter-broker, PLAINTEXT controller listener on loopback, StandardAuthorizer).
write_secure_config() {
    local port=$1 cport=$2 broker_password
    broker_password=$(password_for "$BROKER_USER")
    write_config "$port" "$cport"
    sed -i -e "s|^# Generated by scripts/kafka.sh: .*|# Generated by scripts/kafka.sh: secure single-node KRaft broker (docs/kafka-acls.md).|" \
        -e "s|^listeners=.*|listeners=SASL://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport|" \
        -e "s|^advertised.listeners=.*|advertised.listeners=SASL://127.0.0.1:$port|" \
        -e "s|^inter.broker.listener.name=.*|inter.broker.listener.name=SASL|" \
        -e "s|^listener.security.protocol.map=.*|listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL:SASL_PLAINTEXT|" \
        "$STATE/server.properties"
    local jaas="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"$BROKER_USER\" password=\"$broker_password\";"
    {
        echo
        echo "# Authentication: SCRAM-SHA-512 on the SASL listener (users created at format time)."
        echo "sasl.enabled.mechanisms=SCRAM-SHA-512"
        echo "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512"
        echo "listener.name.sasl.scram-sha-512.sasl.jaas.config=$jaas"
        echo "# Authorisation: ACLs only. The controller listener is PLAINTEXT on loopback: its"
        echo "# principal is User:ANONYMOUS, which the controller must treat as a super user."
        echo "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer"
        echo "allow.everyone.if.no.acl.found=false"
        echo "super.users=User:$BROKER_USER;User:ANONYMOUS"
    } >>"$STATE/server.properties"
    chmod 600 "$STATE/server.properties"
    (umask 077; printf 'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\nsasl.jaas.config=%s\n' \
        "$jaas" >"$STATE/admin-client.properties")
}

# apply_acls PREFIX: the ACL table of services/runtime/kafka_auth.py, added with kafka-acls
# (org.apache.kafka.tools.AclCommand) as the broker's own user; a few JVMs at a time.
apply_acls() {
    local prefix=$1 bootstrap lines
    bootstrap=$(cat "$STATE/bootstrap")
    lines=$(cd "$ROOT" && "$(kafkube_python)" -m services.runtime.kafka_auth acl-commands "$prefix") ||
        die "could not compute the ACLs (python -m services.runtime.kafka_auth; KAFKUBE_PYTHON names the project's python)"
    say "adding the ACLs for topics under '$prefix' ($(wc -l <<<"$lines") kafka-acls calls)"
    # shellcheck disable=SC2016
    if ! xargs -P "${KAFKUBE_ACL_JOBS:-4}" -L 1 sh -c 'out=$(java -Xmx128m -XX:TieredStopAtLevel=1 \
            -Dlog4j2.configurationFile="$0/log4j2.yaml" -cp "$1/*" org.apache.kafka.tools.AclCommand \
            --bootstrap-server "$2" --command-config "$0/admin-client.properties" "$@" 2>&1) ||
            { echo "kafka-acls $*: $out" >&2; exit 255; }' "$STATE" "$TOOLS" "$bootstrap" <<<"$lines"; then
        die "kafka-acls failed (see above)"
    fi
    echo "$prefix" >>"$STATE/acl-prefixes"
}

print_secure() {
    echo "KAFKA_BOOTSTRAP_SERVERS=$(cat "$STATE/bootstrap")"
    echo "KAFKUBE_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT"
    echo "KAFKUBE_KAFKA_SASL_MECHANISM=SCRAM-SHA-512"
    echo "KAFKUBE_KAFKA_CREDENTIALS=$(cat "$STATE/credentials-dir")"
}

cmd_start_secure() {
    secure_state
    local prefix="${KAFKUBE_TOPIC_PREFIX:-kafkube.}"
    need_python
    need_java
    fetch_jars
    fetch_tools
    mkdir -p "$CACHE" "$(dirname "$STATE")"
    exec 9>"$STATE.lock"
    flock -w 300 9 || die "timed out waiting for another scripts/kafka.sh (lock $STATE.lock)"
    # reused only with the same principals (their users are created at format time)
    if recorded_alive && [[ -f "$STATE/credentials-dir" && "$(cat "$STATE/principals" 2>/dev/null)" == "${SECURE_PRINCIPALS[*]}" ]]; then
        say "reusing the running secure broker (pid $(cat "$STATE/pid"))"
        grep -qxF -- "$prefix" "$STATE/acl-prefixes" 2>/dev/null || apply_acls "$prefix"
        print_secure
        return 0
    fi
    if [[ -f "$STATE/pid" ]]; then
        stop_pid "$(cat "$STATE/pid")"
    fi
    rm -rf "$STATE"  # a fresh broker: its users are created at format time (passwords kept if outside)
    mkdir -p "$STATE/data" "$STATE/logs"
    chmod 700 "$STATE"
    local creds port cport
    creds=$(secure_creds)
    read -r port cport < <(free_ports)
    write_secure_config "$port" "$cport"
    local scram=() name
    for name in "$BROKER_USER" "${SECURE_PRINCIPALS[@]}"; do
        scram+=(--add-scram "SCRAM-SHA-512=[name=$name,password=$(password_for "$name")]")
    done
    local cluster_id
    cluster_id=$(java -cp "$LIBS/*" kafka.tools.StorageTool random-uuid 2>"$STATE/format.log" | tail -n 1)
    [[ -n "$cluster_id" ]] || { cat "$STATE/format.log" >&2; die "kafka.tools.StorageTool random-uuid failed"; }
    if ! java -cp "$LIBS/*" -Dlog4j2.configurationFile="$STATE/log4j2.yaml" kafka.tools.StorageTool format \
            --config "$STATE/server.properties" --cluster-id "$cluster_id" "${scram[@]}" >>"$STATE/format.log" 2>&1; then
        cat "$STATE/format.log" >&2
        die "formatting the KRaft storage in $STATE/data failed"
    fi
    say "starting a secure Kafka $KAFKA_VERSION on 127.0.0.1:$port (SASL_PLAINTEXT, SCRAM-SHA-512; state in $STATE)"
    local pid
    pid=$(launch "$STATE")
    wait_ready "$STATE" "$port" "$pid"
    echo "127.0.0.1:$port" >"$STATE/bootstrap"
    echo "$creds" >"$STATE/credentials-dir"
    echo "${SECURE_PRINCIPALS[*]}" >"$STATE/principals"
    apply_acls "$prefix"
    say "ready after ${SECONDS}s; the principals' passwords: $creds/<principal>.password"
    print_secure
}

cmd_acls() {
    secure_state
    [[ -n "${1:-}" ]] || die "usage: $0 acls PREFIX"
    recorded_alive || die "no secure broker runs in $STATE (scripts/kafka.sh start-secure)"
    need_java
    fetch_tools
    apply_acls "$1"
}

case "${1:-}" in
    start-secure) cmd_start_secure ;;
    stop-secure) secure_state; cmd_stop ;;
    acls) cmd_acls "${2:-}" ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    logs) log_tail ;;
    fetch) fetch_jars && echo "$LIBS" ;;
    fetch-tools) fetch_tools && echo "$TOOLS" ;;
    cluster) cmd_cluster "${2:-3}" ;;
    resume) cmd_resume ;;
    pids) cmd_pids ;;
    *)
        echo "usage: $0 start|stop|status|logs|fetch|cluster N|resume|pids|start-secure|acls PREFIX|stop-secure|fetch-tools" >&2
        exit 2
        ;;
esac
