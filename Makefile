# Kafkube development tasks. `make test` does all set-up (virtualenv, Docker Engine, test
# images, a local Kafka broker) and runs the tests and the import contracts.
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

# Bring a development cluster up in the foreground: Kafka, then the whole control plane and
# two kubelets (nodes n1, n2) on the local Docker Engine in one process, and the proxy
# (Services, cluster DNS) beside it when run as root. Ctrl-C stops it.
# KAFKUBE_RUNTIME=hollow runs the kubelets on fake containers instead.
up:
	@bash scripts/venv.sh
	if [[ "$${KAFKUBE_RUNTIME:-docker}" == docker ]]; then bash scripts/docker.sh ensure; bash scripts/images.sh; fi
	addr=$$(bash scripts/kafka.sh start | sed -n 's/^KAFKA_BOOTSTRAP_SERVERS=//p' | tail -n 1)
	echo "KAFKA_BOOTSTRAP_SERVERS=$$addr"
	export KAFKA_BOOTSTRAP_SERVERS="$$addr"
	# The proxy (Services, cluster DNS) needs root for its interface: run it beside, if we can.
	if [[ $$(id -u) -eq 0 ]]; then
		$(VENV_BIN)/kafkube serve proxy --node n1 & proxy=$$!
		trap 'kill $$proxy 2>/dev/null' EXIT
	else
		echo "make up: not root, so no proxy: Services and cluster DNS are off" >&2
		export KAFKUBE_CLUSTER_DNS=off
	fi
	$(VENV_BIN)/kafkube serve all --node n1 --node n2 --runtime "$${KAFKUBE_RUNTIME:-docker}"
