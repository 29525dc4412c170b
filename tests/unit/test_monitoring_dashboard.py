"""The Grafana dashboard in the repo (docs/grafana/kafkube-dashboard.json) and the Prometheus
alerts (docker/prometheus/rules.yml) query only metric names a Kafkube process really exposes
(services/runtime/metrics.py, and prometheus-client's own process_* collector) and
docs/metrics.md documents, plus Prometheus' own `up`; and the dashboard shows each metric
family the monitoring profile is for."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
import yaml
from prometheus_client import REGISTRY

import services.runtime.metrics  # noqa: F401  (registers every Kafkube metric)

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "docs" / "grafana" / "kafkube-dashboard.json"
RULES = ROOT / "docker" / "prometheus" / "rules.yml"
METRICS_DOC = ROOT / "docs" / "metrics.md"
PROMETHEUS_SERIES = {"up"}  # made by Prometheus for every target, not by the target
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
             "bool", "offset", "inf", "nan"}
_SUFFIXES = {"counter": ("_total", "_created"), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count", "_created"),
             "summary": ("", "_sum", "_count", "_created"), "info": ("_info",), "untyped": ("",)}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: identifiers outside strings, label
    matchers, groupings and ranges, that are not functions or keywords."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", expr):
        if not match.group(2) and match.group(1).lower() not in _KEYWORDS:
            names.add(match.group(1))
    return names


def exposed_names() -> set[str]:
    """Every sample name the registry of a Kafkube process can expose."""
    return {family.name + suffix for family in REGISTRY.collect() for suffix in _SUFFIXES[family.type]}


def family_of(name: str) -> str:
    return re.sub(r"_(total|bucket|sum|count|created)$", "", name)


def expressions(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            else:
                yield from expressions(value)
    elif isinstance(node, list):
        for item in node:
            yield from expressions(item)


def test_the_expression_parser_finds_metrics_and_nothing_else() -> None:
    expr = ('histogram_quantile(0.99, sum by (verb, le) (rate(apiserver_request_duration_seconds_bucket'
            '{verb!="WATCH", job=~"api.*"}[$__rate_interval]))) / on (job) group_left up offset 5m')
    assert metric_names(expr) == {"apiserver_request_duration_seconds_bucket", "up"}
    assert metric_names("min by (job) (kafkube_informer_synced) == 0") == {"kafkube_informer_synced"}


@given(st.text(max_size=200))
def test_the_expression_parser_takes_any_text(expr: str) -> None:
    for name in metric_names(expr):
        assert re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", name)


@pytest.mark.parametrize("source", [DASHBOARD, RULES], ids=lambda p: p.name)
def test_every_metric_queried_exists_and_is_documented(source: Path) -> None:
    loaded = json.loads(source.read_text()) if source.suffix == ".json" else yaml.safe_load(source.read_text())
    exprs = list(expressions(loaded))
    assert exprs, f"{source.name} has no queries"
    used = set().union(*map(metric_names, exprs))
    known = exposed_names()
    assert not used - known - PROMETHEUS_SERIES, f"not exposed by a Kafkube process: {sorted(used - known)}"
    doc = METRICS_DOC.read_text()
    undocumented = {family_of(n) for n in used - PROMETHEUS_SERIES
                    if not n.startswith("process_") and f"`{family_of(n)}" not in doc}
    assert not undocumented, f"not in docs/metrics.md: {sorted(undocumented)}"


# What issue 17 asks the metrics to show, and the family that shows it.
ISSUE_FAMILIES = {
    "reconcile latency per controller": "workqueue_work_duration_seconds",
    "reconcile outcomes per controller": "kafkube_reconcile",
    "queue depth": "workqueue_depth",
    "consumer lag per partition": "kafkube_consumer_lag",
    "records in": "kafkube_records_consumed",
    "records out": "kafkube_records_produced",
    "transaction commits and aborts": "kafkube_transactions",
    "informer sync state": "kafkube_informer_synced",
    "API answers by reason": "kafkube_api_answers",
    "API latency histogram": "kafkube_api_decision_duration_seconds",
    "HTTP API requests": "apiserver_request",
    "HTTP API latency histogram": "apiserver_request_duration_seconds",
    "scheduler attempts": "scheduler_schedule_attempts",
    "scheduler latency": "scheduler_scheduling_attempt_duration_seconds",
    "kubelet pod start latency": "kubelet_pod_start_duration_seconds",
    "kubelet container restarts": "kubelet_container_restarts",
}


def test_every_family_the_issue_names_exists_and_has_a_panel() -> None:
    registered = {f.name: f.type for f in REGISTRY.collect()}
    missing = {what: name for what, name in ISSUE_FAMILIES.items() if name not in registered}
    assert not missing, f"not in services/runtime/metrics.py: {missing}"
    assert registered["kafkube_consumer_lag"] == "gauge"
    assert registered["kafkube_api_decision_duration_seconds"] == "histogram"
    used = {family_of(n) for e in expressions(json.loads(DASHBOARD.read_text())) for n in metric_names(e)}
    no_panel = {what: name for what, name in ISSUE_FAMILIES.items() if name not in used}
    assert not no_panel, f"no panel of the dashboard shows {no_panel}"


def test_the_dashboard_imports_with_a_prometheus_data_source() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert [i["pluginId"] for i in dashboard["__inputs"]] == ["prometheus"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
