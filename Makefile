# Kafkube development tasks. `make test` does all set-up (virtualenv, Docker Engine, test
# images, Helm for its tests, the Docker Compose v2 plugin, a local Kafka broker) and runs the
# tests and the import contracts.
# The Kafka broker is left running and reused by the next run; `make kafka-stop` stops it.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.DEFAULT_GOAL := test
MAKEFLAGS += --no-print-directory

VENV_BIN := .venv/bin
PYTEST_ARGS ?=

.PHONY: test up venv docker images kafka-start kafka-stop kafka-status

test:
	@echo "==> virtualenv (.venv)"
	bash scripts/venv.sh
	echo "==> Docker Engine and test images"
	bash scripts/docker.sh ensure
	bash scripts/images.sh
	echo "==> Helm (scripts/helm.sh: built once into ~/.cache/kafkube)"
	bash scripts/helm.sh >/dev/null
	echo "==> Docker Compose v2 for the compose smoke (scripts/compose-v2.sh: built once into ~/.cache/kafkube)"
	bash scripts/compose-v2.sh >/dev/null
	echo "==> Chromium and chromedriver for the dashboard's browser tests (scripts/chromium.sh: apt-get, once)"
	bash scripts/chromium.sh >/dev/null
	echo "==> Kafka"
	addr=$$(bash scripts/kafka.sh start | sed -n 's/^KAFKA_BOOTSTRAP_SERVERS=//p' | tail -n 1)
	[[ -n "$$addr" ]] || { echo "make: no Kafka bootstrap address from scripts/kafka.sh" >&2; exit 1; }
	export KAFKA_BOOTSTRAP_SERVERS="$$addr"
	echo "KAFKA_BOOTSTRAP_SERVERS=$$KAFKA_BOOTSTRAP_SERVERS"
	echo "==> pytest"
	rc=0
	$(VENV_BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS) tests || rc=$$?
	if [[ $$rc -eq 5 ]]; then echo "make: pytest collected no tests (exit 5)" >&2; fi
	echo "==> import contracts (lint-imports)"
	lrc=0
	$(VENV_BIN)/lint-imports --no-logo --no-cache || lrc=$$?
	echo "==> types (mypy)"
	mrc=0
	$(VENV_BIN)/mypy --ignore-missing-imports --no-incremental services schemas tests || mrc=$$?
	if [[ $$rc -ne 0 || $$lrc -ne 0 || $$mrc -ne 0 ]]; then
		echo "make: FAILED (pytest exit $$rc, lint-imports exit $$lrc, mypy exit $$mrc)" >&2
		exit 1
	fi
	echo "==> all passed"

venv:
	@bash scripts/venv.sh

docker:
	@bash scripts/docker.sh ensure

images:
	@bash scripts/images.sh

kafka-start:
	@bash scripts/kafka.sh start

kafka-stop:
	@bash scripts/kafka.sh stop

kafka-status:
	@bash scripts/kafka.sh status

# Bring a development cluster up in the foreground, secure by default (docs/kafka-acls.md):
# credentials in KAFKUBE_STATE_DIR (default ~/.kafkube/cluster: `kafkube init` tokens and the
# admin's config, `kafkube keys init` bus keys in keys/, the Kafka principals' passwords in
# kafka/), a locked-down Kafka (scripts/kafka.sh start-secure: SASL/SCRAM, ACLs), then the
# API, the HTTP API (kubectl; KAFKUBE_APISERVER_ADDRESS, default 127.0.0.1:6443), the dashboard
# (KAFKUBE_DASHBOARD_ADDRESS, default 127.0.0.1:8080), scheduler,
# controllers, endpoints, the ingress controller (127.0.0.1:8088 and :8443) and two kubelets
# (nodes n1, n2) on the local Docker Engine, each its
# own process with its own Kafka principal, token and bus key; the proxy (Services, cluster
# DNS) too when run as root. Prints the admin's CLI config and writes the admin's kubeconfig
# (KAFKUBE_STATE_DIR/kubeconfig). Ctrl-C stops it.
# KAFKUBE_RUNTIME=hollow runs the kubelets on fake containers instead. KAFKUBE_INSECURE=1: the
# plain shared broker and one `kafkube serve all` process, as before.
up:
	@bash scripts/venv.sh
	if [[ "$${KAFKUBE_RUNTIME:-docker}" == docker ]]; then bash scripts/docker.sh ensure; bash scripts/images.sh; fi
	if [[ -n "$${KAFKUBE_INSECURE:-}" ]]; then
		addr=$$(bash scripts/kafka.sh start | sed -n 's/^KAFKA_BOOTSTRAP_SERVERS=//p' | tail -n 1)
		echo "KAFKA_BOOTSTRAP_SERVERS=$$addr"
		export KAFKA_BOOTSTRAP_SERVERS="$$addr" KAFKUBE_INSECURE_BUS=1
		[[ $$(id -u) -eq 0 ]] || export KAFKUBE_CLUSTER_DNS=off
		export KAFKUBE_METRICS_ADDRESS="127.0.0.1:$${KAFKUBE_METRICS_PORT:-9100}"
		exec $(VENV_BIN)/kafkube serve all --node n1 --node n2 --runtime "$${KAFKUBE_RUNTIME:-docker}"
	fi
	state=$${KAFKUBE_STATE_DIR:-$$HOME/.kafkube/cluster}
	mkdir -p "$$state" && chmod 700 "$$state"
	export KAFKUBE_KAFKA_STATE="$$state/kafka-broker" KAFKUBE_KAFKA_CREDENTIALS="$$state/kafka"
	export KAFKUBE_PYTHON="$$PWD/$(VENV_BIN)/python"
	out=$$(bash scripts/kafka.sh start-secure)
	addr=$$(sed -n 's/^KAFKA_BOOTSTRAP_SERVERS=//p' <<<"$$out" | tail -n 1)
	[[ -n "$$addr" ]] || { echo "make up: no Kafka bootstrap address from scripts/kafka.sh start-secure" >&2; exit 1; }
	unset KAFKUBE_KAFKA_STATE KAFKUBE_KAFKA_CREDENTIALS KAFKUBE_TOKEN KAFKUBE_BUS_KEYS_FILE KAFKUBE_INSECURE_BUS
	export KAFKA_BOOTSTRAP_SERVERS="$$addr" KAFKUBE_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT
	$(VENV_BIN)/kafkube init "$$state" --node n1 --node n2 --bootstrap-servers "$$addr" >/dev/null
	$(VENV_BIN)/kafkube keys init "$$state/keys" --node n1 --node n2 >/dev/null
	$(VENV_BIN)/python -c 'import sys; from pathlib import Path; from services.cli.config import set_kafka_login; set_kafka_login(Path(sys.argv[1]), security_protocol="SASL_PLAINTEXT", username="kafkube-user", password_file=sys.argv[2])' \
		"$$state/admin.config" "$$state/kafka/kafkube-user.password"
	pids=()
	trap 'kill $${pids[@]} 2>/dev/null; wait' EXIT
	# run PRINCIPAL TOKEN KEYS serve-args...: one service as its Kafka principal, token (none if
	# empty) and bus key; its /metrics, /healthz and /readyz on the next port from
	# KAFKUBE_METRICS_PORT (default 9100: api 9100, apiserver 9101, ... kubelets last)
	metrics=$${KAFKUBE_METRICS_PORT:-9100}
	run() {
		KAFKUBE_KAFKA_USERNAME=$$1 KAFKUBE_KAFKA_PASSWORD_FILE="$$state/kafka/$$1.password" \
			KAFKUBE_TOKEN_FILE="$${2:+$$state/tokens/$$2.token}" KAFKUBE_BUS_KEYS_FILE="$$state/keys/$$3.json" \
			KAFKUBE_METRICS_ADDRESS="127.0.0.1:$$metrics" $(VENV_BIN)/kafkube serve "$${@:4}" & pids+=($$!)
		echo "make up: $${*:4}: /metrics, /healthz, /readyz at http://127.0.0.1:$$metrics" >&2
		metrics=$$((metrics + 1))
	}
	KAFKUBE_TOKEN_AUTH_FILE="$$state/tokens.csv" KAFKUBE_SERVICE_ACCOUNT_KEY_FILE="$$state/service-account.key" \
		KAFKUBE_ENCRYPTION_CONFIG="$$state/encryption-config.yaml" run kafkube-api admin control-plane api
	# the HTTP API: writes carry their callers' tokens (its own only impersonates its
	# client-certificate callers), the control plane's keys to verify records, the cluster CA
	export KAFKUBE_APISERVER_ADDRESS="$${KAFKUBE_APISERVER_ADDRESS:-127.0.0.1:6443}"
	KAFKUBE_TOKEN_AUTH_FILE="$$state/tokens.csv" KAFKUBE_SERVICE_ACCOUNT_KEY_FILE="$$state/service-account.key" \
		KAFKUBE_APISERVER_CERT_FILE="$$state/apiserver.crt" KAFKUBE_APISERVER_KEY_FILE="$$state/apiserver.key" \
		KAFKUBE_APISERVER_CLIENT_CA_FILE="$$state/ca.crt" run kafkube-apiserver apiserver control-plane apiserver
	run kafkube-scheduler scheduler control-plane scheduler
	run kafkube-controllers controller-manager control-plane controllers
	run kafkube-endpoints endpoints control-plane endpoints
	# the ingress controller (services/ingress/README.md): HTTP and HTTPS on 127.0.0.1 by default
	KAFKUBE_INGRESS_HTTP_ADDRESS="$${KAFKUBE_INGRESS_HTTP_ADDRESS:-127.0.0.1:8088}" \
		KAFKUBE_INGRESS_HTTPS_ADDRESS="$${KAFKUBE_INGRESS_HTTPS_ADDRESS:-127.0.0.1:8443}" \
		KAFKUBE_INGRESS_STATUS_ADDRESS="$${KAFKUBE_INGRESS_STATUS_ADDRESS:-127.0.0.1}" \
		run kafkube-ingress ingress control-plane ingress
	if [[ $$(id -u) -eq 0 ]]; then
		run kafkube-proxy proxy control-plane proxy --node n1
	else
		echo "make up: not root, so no proxy: Services and cluster DNS are off" >&2
		export KAFKUBE_CLUSTER_DNS=off
	fi
	for node in n1 n2; do
		run kafkube-kubelet "node-$$node" "node-$$node" kubelet --node "$$node" --runtime "$${KAFKUBE_RUNTIME:-docker}"
	done
	# the web dashboard (KAFKUBE_DASHBOARD_ADDRESS, default 127.0.0.1:8080): no token of its own,
	# its users log in with theirs and its actions carry them
	export KAFKUBE_DASHBOARD_ADDRESS="$${KAFKUBE_DASHBOARD_ADDRESS:-127.0.0.1:8080}"
	KAFKUBE_TOKEN_AUTH_FILE="$$state/tokens.csv" KAFKUBE_SERVICE_ACCOUNT_KEY_FILE="$$state/service-account.key" \
		run kafkube-dashboard "" control-plane dashboard
	echo "make up: Kafka (SASL/SCRAM, ACLs) at $$addr; credentials in $$state" >&2
	echo "make up: the admin's CLI config: export KAFKUBE_CONFIG=$$state/admin.config" >&2
	(umask 077; KAFKUBE_CONFIG="$$state/admin.config" $(VENV_BIN)/kafkube config kubeconfig >"$$state/kubeconfig")
	echo "make up: kubectl (the HTTP API at $$KAFKUBE_APISERVER_ADDRESS): export KUBECONFIG=$$state/kubeconfig" >&2
	echo "make up: the dashboard: http://$$KAFKUBE_DASHBOARD_ADDRESS (log in with $$state/tokens/admin.token)" >&2
	rc=0
	wait -n || rc=$$?
	echo "make up: a service exited (status $$rc); stopping the others" >&2
	exit 1
