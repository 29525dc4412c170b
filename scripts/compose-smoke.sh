#!/usr/bin/env bash
# End-to-end check of docker-compose.yml on this machine, with images built locally
# (scripts/compose-images.sh: no registry needed):
#
#   bring the cluster up (secure: generated credentials, Kafka with SASL/SCRAM and ACLs) ->
#   fetch the admin's CLI config from the init service -> check Kafka refuses a client without
#   a login and the user principal's direct write to desired.pods -> the admin's kubeconfig from
#   the init service: kubectl get nodes / get ns / apply and read back a ConfigMap through the
#   apiserver (127.0.0.1:APISERVER_HOST_PORT); the official Python client (create, a watch
#   from a list's resourceVersion, delete); Helm (install, upgrade, rollback, uninstall of a
#   chart) -> apply a Deployment with
#   the kafkube CLI and that config -> see its containers running on the Engine -> see events
#   on kafkube.events (kafkube events) -> scale it -> delete it -> see
#   the containers gone -> the `monitoring` profile's Prometheus: every service's target up and
#   its metrics queried per job -> docker compose down -> no pod container left.
#
# Runs with the Compose v2 plugin (`docker compose`, as the README says; scripts/compose-v2.sh
# builds it once), after checking that Debian's docker-compose 1.29, when installed, still
# reads the file. It waits for every service to be healthy, which is its /readyz answering
# 200 (docker/bin/kafkube-healthcheck), and then asks each service's /readyz itself.
#
# Runs as its own compose project (kafkube-smoke-<pid>) with its own node names, Kafka host
# port and kubelet root, so it does not disturb a cluster or tests already on the machine.
# Always tears down. Prints PASS or FAIL with the time of every step; on failure, the
# services' last log lines.
#
#   KAFKUBE_SMOKE_KEEP=1        leave the cluster up at the end (and on failure) for a look
#   KAFKUBE_SMOKE_TIMEOUT=180   seconds each wait may take
#   COMPOSE="docker compose"    the compose command (default: the v2 plugin, built by
#                               scripts/compose-v2.sh; COMPOSE=docker-compose runs Compose 1.29)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
CACHE="${KAFKUBE_CACHE:-${HOME:-/tmp}/.cache/kafkube}"
TIMEOUT="${KAFKUBE_SMOKE_TIMEOUT:-180}"
T0=$SECONDS
STEP_T=$SECONDS

say() { printf 'compose-smoke [%4ds]: %s\n' "$((SECONDS - T0))" "$*" >&2; }
step() { say "ok: $1 (${2:-$((SECONDS - STEP_T))}s)"; STEP_T=$SECONDS; }
fail() { say "FAIL: $*"; FAILED=1; exit 1; }

apt_install() {
    [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null || return 1
    say "installing $* (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    if [[ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -60 -print -quit 2>/dev/null)" ]]; then
        apt-get update -qq >/dev/null || return 1
    fi
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# ---- tools ---------------------------------------------------------------------------------
bash "$HERE/docker.sh" ensure
command -v kcat >/dev/null || apt_install kcat || fail "kcat is missing (apt-get install kcat)"
if [[ -z "${COMPOSE:-}" ]]; then
    bash "$HERE/compose-v2.sh" >/dev/null || fail "no Compose v2 plugin (scripts/compose-v2.sh failed)"
    COMPOSE="docker compose"
fi
say "compose: $COMPOSE ($($COMPOSE version 2>/dev/null | head -n 1))"

# ---- images --------------------------------------------------------------------------------
images_out=$(bash "$HERE/compose-images.sh") || fail "building the images failed"
export KAFKUBE_IMAGE KAFKA_IMAGE PROMETHEUS_IMAGE
KAFKUBE_IMAGE=$(sed -n 's/^KAFKUBE_IMAGE=//p' <<<"$images_out")
KAFKA_IMAGE=$(sed -n 's/^KAFKA_IMAGE=//p' <<<"$images_out")
PROMETHEUS_IMAGE=$(sed -n 's/^PROMETHEUS_IMAGE=//p' <<<"$images_out")
step "images $KAFKUBE_IMAGE $KAFKA_IMAGE $PROMETHEUS_IMAGE"

# ---- the project's settings ----------------------------------------------------------------
ID="${KAFKUBE_SMOKE_ID:-$$}"  # a number
PROJECT="kafkube-smoke-$ID"
N1="smoke$ID-1"
N2="smoke$ID-2"
WORK="$CACHE/run/compose-smoke-$ID"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
APISERVER_PORT=$(free_port)
BOOTSTRAP="127.0.0.1:$PORT"
mkdir -p "$WORK/kubelet"
cat >"$WORK/env" <<ENV
COMPOSE_PROJECT_NAME=$PROJECT
KAFKUBE_IMAGE=$KAFKUBE_IMAGE
KAFKA_IMAGE=$KAFKA_IMAGE
KAFKA_HOST_PORT=$PORT
APISERVER_HOST_PORT=$APISERVER_PORT
KUBELET_1_NODE=$N1
KUBELET_2_NODE=$N2
KAFKUBE_KUBELET_ROOT=$WORK/kubelet
KAFKUBE_PARTITIONS=3
KAFKUBE_TOPIC_PREFIX=kafkube.
KAFKUBE_PROXY_INTERFACE=ksmoke$((ID % 1000000))
KAFKUBE_SERVICE_CIDR=10.$((200 + ID % 50)).0.0/16
KAFKUBE_CLUSTER_DNS_IP=10.$((200 + ID % 50)).0.10
PROXY_METRICS_PORT=$(free_port)
KUBELET_1_METRICS_PORT=$(free_port)
KUBELET_2_METRICS_PORT=$(free_port)
INGRESS_METRICS_PORT=$(free_port)
INGRESS_HTTP_ADDRESS=127.0.0.1:$(free_port)
INGRESS_HTTPS_ADDRESS=127.0.0.1:$(free_port)
PROMETHEUS_IMAGE=$PROMETHEUS_IMAGE
PROMETHEUS_HOST_PORT=$(free_port)
DASHBOARD_HOST_PORT=$(free_port)
HOST_METRICS_IP=0.0.0.0
ENV
# The variables win over a .env in the repository; the env file documents them for a look.
set -a
# shellcheck disable=SC1091
source "$WORK/env"
set +a
compose() { (cd "$ROOT" && $COMPOSE -p "$PROJECT" -f "$ROOT/docker-compose.yml" --profile monitoring "$@"); }
# Compose 1.29 (Debian's) reads the file too: not a second run, its parse and interpolation.
if [[ "$COMPOSE" != docker-compose ]] && command -v docker-compose >/dev/null; then
    (cd "$ROOT" && docker-compose -p "$PROJECT" -f "$ROOT/docker-compose.yml" --profile monitoring config -q) ||
        fail "docker-compose $(docker-compose version --short 2>/dev/null) cannot read docker-compose.yml"
    say "docker-compose $(docker-compose version --short 2>/dev/null) reads docker-compose.yml"
fi

FAILED=1
DOWN=
teardown() {
    local rc=$?
    if [[ -n "${KAFKUBE_SMOKE_KEEP:-}" ]]; then
        say "KAFKUBE_SMOKE_KEEP: left up; stop with: COMPOSE_PROJECT_NAME=$PROJECT $COMPOSE --env-file $WORK/env down -v"
        return
    fi
    if [[ -n "$FAILED" ]]; then
        say "----- last log lines of the services -----"
        compose logs --no-color --tail 40 2>&1 | tail -n 400 >&2 || true
        compose ps >&2 2>&1 || true
    fi
    if [[ -z "$DOWN" ]]; then
        compose down -v --remove-orphans -t 60 >/dev/null 2>&1 || true
    fi
    # Whatever a broken run left on the Engine: only this run's nodes.
    local left
    left=$(docker ps -aq --filter "label=io.kafkube.node=$N1"; docker ps -aq --filter "label=io.kafkube.node=$N2")
    [[ -z "$left" ]] || docker rm -f $left >/dev/null 2>&1 || true
    rm -rf "$WORK"
    if [[ -n "$FAILED" ]]; then
        say "FAIL after $((SECONDS - T0))s"
        exit "$((rc == 0 ? 1 : rc))"
    fi
}
trap teardown EXIT

wait_for() {  # wait_for WHAT COMMAND...: until COMMAND succeeds, or fail after $TIMEOUT
    local what=$1 deadline=$((SECONDS + TIMEOUT))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || fail "timed out after ${TIMEOUT}s waiting for $what"
        sleep 1
    done
}

# ---- the services -------------------------------------------------------------------------
SERVICES=(init kafka acls topics pause-image busybox-image api apiserver scheduler kubelet-1 kubelet-2
          controller-manager endpoints proxy ingress dashboard prometheus)
# What the check's path needs; the others (the proxy, endpoints, ingress) are started and their health
# reported, but a failure of theirs is a warning (KAFKUBE_SMOKE_STRICT=1 makes it a failure).
REQUIRED=()
for s in "${SERVICES[@]}"; do
    case "$s" in
        proxy|endpoints|ingress) [[ -z "${KAFKUBE_SMOKE_STRICT:-}" ]] || REQUIRED+=("$s") ;;
        *) REQUIRED+=("$s") ;;
    esac
done
WARNINGS=()
optional_report() {
    local s st
    for s in "${SERVICES[@]}"; do
        [[ " ${REQUIRED[*]} " != *" $s "* ]] || continue
        st=$(state_of "$s")
        case "$st" in
            running/healthy:*|running:*) ;;
            *) WARNINGS+=("$s is $st: $(compose logs --no-color --tail 3 "$s" 2>&1 | tail -n 1 | cut -c1-300)")
               say "WARN: ${WARNINGS[-1]}" ;;
        esac
    done
}

# ---- up ------------------------------------------------------------------------------------
say "project $PROJECT: nodes $N1 $N2, Kafka on $BOOTSTRAP"
compose up -d --no-build "${SERVICES[@]}" >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log" >&2; fail "compose up"; }

cid() { compose ps -a -q "$1" 2>/dev/null | head -n 1; }  # -a: v2 lists running ones only without it
state_of() {  # running/healthy/exited:N of a service's container
    local id
    id=$(cid "$1")
    [[ -n "$id" ]] || { echo missing; return; }
    docker inspect -f '{{.State.Status}}{{if .State.Health}}/{{.State.Health.Status}}{{end}}:{{.State.ExitCode}}:{{.RestartCount}}' "$id"
}
all_up() {
    local s st
    for s in "${REQUIRED[@]}"; do
        st=$(state_of "$s")
        case "$s:$st" in
            topics:exited*:0:*|acls:exited*:0:*|init:exited*:0:*|*-image:exited:0:*) ;;
            topics:*|acls:*|init:*|*-image:*) return 1 ;;
            *:running/healthy:*|*:running:*) [[ "$st" != running/starting* ]] || return 1 ;;
            *) return 1 ;;
        esac
    done
}
wait_for "the services the check needs (${REQUIRED[*]}) up and healthy" all_up
for s in "${SERVICES[@]}"; do say "  $s: $(state_of "$s")"; done
step "cluster up (${#SERVICES[@]} services)"
# Healthy is the healthcheck's word for /readyz answering 200; ask /readyz directly too.
readyz() {  # the /readyz answer of a service, from inside its container (its own address)
    docker exec "$(cid "$1")" /opt/kafkube/bin/python3 -c '
import os, urllib.request
port = os.environ["KAFKUBE_METRICS_ADDRESS"].rpartition(":")[2]
print(urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5).read().decode())' 2>&1
}
KAFKUBE_SERVICES=()  # the services that serve /metrics and /readyz, and are required
for s in "${REQUIRED[@]}"; do
    case "$s" in init|kafka|acls|topics|*-image|prometheus) ;; *) KAFKUBE_SERVICES+=("$s") ;; esac
done
for s in "${KAFKUBE_SERVICES[@]}"; do
    answer=$(readyz "$s") || fail "$s: /readyz: $answer"
    [[ "$answer" == ok ]] || fail "$s: /readyz answered '$answer', not ok"
done
step "/readyz answers ok in ${KAFKUBE_SERVICES[*]}"

# ---- the admin's config; Kafka is locked down ----------------------------------------------
PREFIX=kafkube.
compose run --rm --no-deps -T init admin-config >"$WORK/admin.config" 2>"$WORK/admin-config.log" ||
    { cat "$WORK/admin-config.log" >&2; fail "docker compose run init admin-config"; }
KAFKUBE_CLI="$ROOT/.venv/bin/kafkube"
[[ -x "$KAFKUBE_CLI" ]] || bash "$HERE/venv.sh" >&2
kube() {  # the kafkube CLI with the generated admin config and nothing else from this environment
    env -i PATH="$PATH" HOME="${HOME:-/tmp}" KAFKUBE_CONFIG="$WORK/admin.config" "$KAFKUBE_CLI" "$@"
}
# Without a login nothing gets in; with the config's (the user principal), desired state is
# still the API's alone: the broker refuses the write (aiokafka, as the CLI connects).
! echo '{}' | timeout 20 kcat -b "$BOOTSTRAP" -P -t "${PREFIX}manifests" -k x -m 10 >/dev/null 2>&1 ||
    fail "Kafka accepted a write without a login"
refused=$(env -i PATH="$PATH" HOME="${HOME:-/tmp}" KAFKUBE_CONFIG="$WORK/admin.config" "$ROOT/.venv/bin/python" -c '
import asyncio
from aiokafka.errors import TopicAuthorizationFailedError
from services.cli.config import cli_settings
from services.runtime.bus import make_producer
async def main():
    settings = cli_settings()
    async with make_producer(settings) as producer:
        try:
            await producer.send_and_wait(settings.topic_prefix + "desired.pods", key=b"default/x", value=b"{}")
        except TopicAuthorizationFailedError:
            print("refused")
asyncio.run(main())' 2>"$WORK/refused.log") || { cat "$WORK/refused.log" >&2; fail "the user principal could not connect"; }
[[ "$refused" == refused ]] || fail "Kafka let the user principal write ${PREFIX}desired.pods"
step "admin config from init; Kafka refuses clients without a login and the user's write to desired.pods"

# ---- kubectl against the apiserver ---------------------------------------------------------
KUBECTL=$(command -v kubectl) || fail "kubectl is missing (the apiserver's check needs it)"
compose run --rm --no-deps -T init kubeconfig >"$WORK/kubeconfig" 2>"$WORK/kubeconfig.log" ||
    { cat "$WORK/kubeconfig.log" >&2; fail "docker compose run init kubeconfig"; }
kubectl() { "$KUBECTL" --kubeconfig "$WORK/kubeconfig" --request-timeout=20s "$@"; }
nodes_listed() { [[ "$(kubectl get nodes -o name 2>/dev/null | sort | tr '\n' ' ')" == "node/$N1 node/$N2 " ]]; }
wait_for "kubectl get nodes to list $N1 and $N2 (https://127.0.0.1:$APISERVER_PORT)" nodes_listed
kubectl get ns -o name | grep -qx namespace/kube-system || fail "kubectl get ns: no kube-system"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: smoke, namespace: default}\ndata: {mode: fast}\n' |
    kubectl apply --validate=false -f - >"$WORK/kubectl.log" 2>&1 || { cat "$WORK/kubectl.log" >&2; fail "kubectl apply"; }
[[ "$(kubectl get cm smoke -o 'jsonpath={.data.mode}')" == fast ]] || fail "kubectl get cm smoke: not what was applied"
step "kubectl through the apiserver (127.0.0.1:$APISERVER_PORT): get nodes, get ns, apply and read back a ConfigMap"

# ---- the official Python client and Helm against the apiserver ------------------------------
(cd "$ROOT" && .venv/bin/python -m tests.integration.client_smoke "$WORK/kubeconfig") >"$WORK/client.log" 2>&1 ||
    { cat "$WORK/client.log" >&2; fail "the Python client"; }
step "the Python client: create, a watch from a list's resourceVersion, delete"
HELM=$(bash "$HERE/helm.sh" 2>"$WORK/helm-build.log") || { cat "$WORK/helm-build.log" >&2; fail "scripts/helm.sh"; }
mkdir -p "$WORK/chart/templates"
printf 'apiVersion: v2\nname: smoke\nversion: 0.1.0\n' >"$WORK/chart/Chart.yaml"
printf 'greeting: hello\n' >"$WORK/chart/values.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: helm-smoke}\ndata: {greeting: "{{ .Values.greeting }}"}\n' \
    >"$WORK/chart/templates/cm.yaml"
helm() { "$HELM" --kubeconfig "$WORK/kubeconfig" "$@" >>"$WORK/helm.log" 2>&1 || { cat "$WORK/helm.log" >&2; fail "helm $*"; }; }
helm install smoke "$WORK/chart" --wait --timeout 60s
helm upgrade smoke "$WORK/chart" --set greeting=bonjour
[[ "$(kubectl get cm helm-smoke -o 'jsonpath={.data.greeting}')" == bonjour ]] || fail "helm upgrade: not applied"
helm rollback smoke 1
[[ "$(kubectl get cm helm-smoke -o 'jsonpath={.data.greeting}')" == hello ]] || fail "helm rollback: not applied"
helm uninstall smoke
! kubectl get cm helm-smoke >/dev/null 2>&1 || fail "helm uninstall left the ConfigMap"
step "helm install, upgrade, rollback, uninstall of a chart through the apiserver"

# ---- apply a Deployment with the kafkube CLI ----------------------------------------------
publish() {  # publish KEY FILE [delete]: as the admin, through the API
    if [[ "${3:-}" == delete ]]; then
        kube delete -f "$2" >>"$WORK/cli.log" 2>&1 || { cat "$WORK/cli.log" >&2; fail "kafkube delete -f $2"; }
    else
        kube apply -f "$2" >>"$WORK/cli.log" 2>&1 || { cat "$WORK/cli.log" >&2; fail "kafkube apply -f $2"; }
    fi
}
app_containers() {  # running app containers of the web pods on our two nodes
    local n
    for n in "$N1" "$N2"; do
        docker ps -q --filter "label=io.kafkube.node=$n" --filter "label=io.kafkube.role=app" \
            --filter "label=io.kafkube.pod.namespace=default" --filter "label=io.kafkube.container=httpd"
    done | grep -c . || true
}
pod_containers() {  # any container (infra or app, any state) of our nodes
    local n
    for n in "$N1" "$N2"; do docker ps -aq --filter "label=io.kafkube.node=$n"; done | grep -c . || true
}
count_is() { [[ "$($1)" == "$2" ]]; }
nodes_used() {
    local n used=()
    for n in "$N1" "$N2"; do
        [[ -z "$(docker ps -q --filter "label=io.kafkube.node=$n" --filter label=io.kafkube.role=app)" ]] || used+=("$n")
    done
    echo "${used[*]}"
}

# examples/web.yaml, with a short grace period: busybox httpd as PID 1 ignores SIGTERM, so
# each stop would otherwise wait the default 30 s for the SIGKILL.
sed 's/^    spec:$/    spec:\n      terminationGracePeriodSeconds: 2/' "$ROOT/examples/web.yaml" >"$WORK/web.yaml"
sed 's/^  replicas: .*/  replicas: 3/' "$WORK/web.yaml" >"$WORK/web-3.yaml"
sed 's/^  replicas: .*/  replicas: 1/' "$WORK/web.yaml" >"$WORK/web-1.yaml"
KEY=default/web
publish "$KEY" "$WORK/web-3.yaml"
wait_for "3 web containers running" count_is app_containers 3
step "applied with the kafkube CLI; 3 containers running on node(s): $(nodes_used)"
pods_started() {  # the kubelets' /metrics: pods they saw reach Running (docs/metrics.md)
    python3 - "$KUBELET_1_METRICS_PORT" "$KUBELET_2_METRICS_PORT" <<'PY'
import sys, urllib.request
total = 0.0
for port in sys.argv[1:]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    total += sum(float(line.split()[-1]) for line in text.splitlines()
                 if line.startswith("kubelet_pod_start_duration_seconds_count"))
sys.exit(0 if total >= 3 else 1)
PY
}
wait_for "the kubelets' /metrics to count 3 pods started" pods_started
step "the kubelets' /metrics count the 3 pods started"

# ---- the dashboard (127.0.0.1:$DASHBOARD_HOST_PORT) ------------------------------------------
dashboard_sees_web() {  # its workloads view, as the kubeconfig's user: web with 3 ready pods
    python3 - "$DASHBOARD_HOST_PORT" "$WORK/kubeconfig" <<'PY'
import json, sys, urllib.error, urllib.request
port, kubeconfig = sys.argv[1], open(sys.argv[2]).read()
token = next(line.split(":", 1)[1].strip() for line in kubeconfig.splitlines() if line.strip().startswith("token:"))
url = f"http://127.0.0.1:{port}/api/views/workloads"
try:
    urllib.request.urlopen(url, timeout=5)
    sys.exit("the dashboard answered a caller without a token")
except urllib.error.HTTPError as refused:
    if refused.code != 401:
        sys.exit(f"the dashboard answered a caller without a token {refused.code}, not 401")
answer = urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"}), timeout=5)
def rows(value):  # every object in the answer, at any depth
    if isinstance(value, dict):
        yield value
        value = list(value.values())
    for item in value if isinstance(value, list) else ():
        yield from rows(item)
found = [r for r in rows(json.load(answer)) if r.get("name") == "web" and r.get("namespace") == "default"]
sys.exit(0 if any(r.get("ready") == 3 and r.get("replicas") == 3 for r in found) else 1)
PY
}
wait_for "the dashboard's workloads view to show web with 3 ready pods" dashboard_sees_web
step "the dashboard refuses a caller without a token and shows web, 3 ready, to the admin"

# ---- events --------------------------------------------------------------------------------
kube events -A -o json >"$WORK/events.txt" 2>/dev/null || true
reasons=$(python3 - "$WORK/events.txt" <<'PY'
import json, sys, collections
c = collections.Counter()
for line in open(sys.argv[1], errors="replace"):
    try:
        event = json.loads(line)
    except ValueError:
        continue
    key = (event.get("involvedObject") or {}).get("name")
    c[event.get("reason", "?")] += 1
    if event.get("type") == "Warning" or event.get("reason") == "Rejected":
        print(f"warning event {key}: {event.get('reason')}: {str(event.get('message'))[:200]}", file=sys.stderr)
print(" ".join(f"{r}={n}" for r, n in sorted(c.items())))
PY
)
say "events on ${PREFIX}events: $reasons"
grep -Eq '(^| )(Created|Applied)=' <<<"$reasons" || fail "no Created/Applied event on ${PREFIX}events"
grep -Eq '(^| )(Scheduled|Started|Pulled)=' <<<"$reasons" || fail "no Scheduled/Started event on ${PREFIX}events"
step "events seen"

# ---- scale ---------------------------------------------------------------------------------
publish "$KEY" "$WORK/web-1.yaml"
wait_for "1 web container running after scaling to 1" count_is app_containers 1
step "scaled to 1"

# ---- delete --------------------------------------------------------------------------------
publish "$KEY" "$WORK/web-1.yaml" delete
wait_for "every pod container removed" count_is pod_containers 0
step "deleted; no pod container left"

optional_report

# ---- monitoring: Prometheus scrapes every service -------------------------------------------
# Its jobs: one per service, the two kubelets' targets under one `kubelet` job.
JOBS=$(printf '%s\n' "${KAFKUBE_SERVICES[@]}" | sed 's/^kubelet-[0-9]*$/kubelet/' | sort -u | tr '\n' ' ')
JOBS=${JOBS% }
prometheus_sees_all() {  # every job's targets up, and a real metric's series from every job
    python3 - "$PROMETHEUS_HOST_PORT" "$JOBS" "$WORK/prometheus.txt" <<'PY'
import json, sys, urllib.parse, urllib.request
port, jobs, report = sys.argv[1], set(sys.argv[2].split()), sys.argv[3]
def get(path):
    return json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5))["data"]
lines, ok = [], True
try:
    targets = get("/api/v1/targets?state=active")["activeTargets"]
    health = {}
    for t in targets:
        health.setdefault(t["labels"]["job"], []).append(t["health"])
        lines.append(f'target {t["labels"]["job"]} {t["scrapeUrl"]}: {t["health"]} {t.get("lastError", "")}')
    ok = all(health.get(job) and set(health[job]) == {"up"} for job in jobs) and health["kubelet"] == ["up", "up"]
    # every job's informers synced; the HTTP API's requests (kubectl, Helm); the 3 pods started
    for query, want in (("min by (job) (kafkube_informer_synced)", {job: 1 for job in jobs}),
                        ("sum by (job) (apiserver_request_total)", {"apiserver": 1}),
                        ("sum by (job) (kubelet_pod_start_duration_seconds_count)", {"kubelet": 3})):
        seen = {r["metric"].get("job"): float(r["value"][1])
                for r in get("/api/v1/query?query=" + urllib.parse.quote(query))["result"]}
        lines.append(f"{query}: {seen}")
        ok = ok and all(seen.get(job, 0) >= least for job, least in want.items())
except (OSError, ValueError, KeyError) as exc:
    lines.append(f"prometheus: {exc}")
    ok = False
open(report, "w").write("\n".join(lines) + "\n")
sys.exit(0 if ok else 1)
PY
}
deadline=$((SECONDS + TIMEOUT))
until prometheus_sees_all; do
    ((SECONDS < deadline)) || { cat "$WORK/prometheus.txt" >&2; fail "timed out after ${TIMEOUT}s waiting for Prometheus to scrape every service (jobs $JOBS)"; }
    sleep 2
done
step "Prometheus (127.0.0.1:$PROMETHEUS_HOST_PORT): every target up ($JOBS), every job's informers synced, the apiserver's requests, the kubelets' 3 pod starts"

# ---- down ----------------------------------------------------------------------------------
# Something for the kubelets to clean up on the way down: a pod that is still running.
publish "$KEY" "$WORK/web-1.yaml"
wait_for "1 web container running again" count_is app_containers 1
compose down -v --remove-orphans -t 60 >"$WORK/down.log" 2>&1 || { cat "$WORK/down.log" >&2; fail "compose down"; }
DOWN=1
left=$(pod_containers)
[[ "$left" == 0 ]] || fail "$left pod container(s) left behind after compose down"
[[ -z "$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT")" ]] || fail "compose containers left after down"
step "compose down; no pod container left behind"

FAILED=
note=""
((${#WARNINGS[@]} == 0)) || note=" (${#WARNINGS[@]} warning(s): optional services unhealthy)"
say "PASS in $((SECONDS - T0))s$note"
