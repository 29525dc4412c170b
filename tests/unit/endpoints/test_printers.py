"""kubectl's columns for services and endpoints, and observed-only Endpoints in `get`."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from services.cli.printers import objects, render_table

NOW = datetime(2024, 1, 1, 0, 10, tzinfo=timezone.utc)
META: dict[str, Any] = {"name": "web", "namespace": "default", "creationTimestamp": "2024-01-01T00:00:00Z"}
Obj = dict[str, Any]


def test_service_columns_like_kubectl() -> None:
    svcs: list[Obj] = [{"metadata": META, "spec": {"type": "NodePort", "clusterIP": "10.96.0.5", "ports": [
                {"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]}},
            {"metadata": {**META, "name": "h"}, "spec": {"clusterIP": "None", "ports": [{"port": 80}]}},
            {"metadata": {**META, "name": "lb"}, "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.6",
                                                         "ports": [{"port": 443, "nodePort": 31000}]}},
            {"metadata": {**META, "name": "x"}, "spec": {"type": "ExternalName", "externalName": "db.example.com"}}]
    lines = render_table("services", svcs, now=NOW).splitlines()
    assert lines[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert lines[1].split() == ["web", "NodePort", "10.96.0.5", "<none>", "80:30080/TCP,53/UDP", "10m"]
    assert lines[2].split() == ["h", "ClusterIP", "None", "<none>", "80/TCP", "10m"]
    assert lines[3].split() == ["lb", "LoadBalancer", "10.96.0.6", "<pending>", "443:31000/TCP", "10m"]
    assert lines[4].split() == ["x", "ExternalName", "<none>", "db.example.com", "<none>", "10m"]


def test_endpoints_from_the_controller_show_in_get() -> None:
    observed: dict[str, Obj] = {"default/web": {
        "apiVersion": "v1", "kind": "Endpoints", "writer": "endpoints-controller",
        "observedAt": "2024-01-01T00:09:00Z", "metadata": {"name": "web", "namespace": "default"},
        "status": {"subsets": [{"addresses": [{"ip": f"172.17.0.{i}"} for i in range(2, 6)],
                                "notReadyAddresses": [{"ip": "172.17.0.9"}],
                                "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]}}}
    shown = objects({}, observed)
    assert shown["default/web"]["subsets"] == observed["default/web"]["status"]["subsets"]
    lines = render_table("endpoints", list(shown.values()), now=NOW).splitlines()
    assert lines[0].split() == ["NAME", "ENDPOINTS", "AGE"]
    assert lines[1].split() == ["web", "172.17.0.2:8080,172.17.0.3:8080,172.17.0.4:8080", "+", "1",
                                "more...", "60s"]


def test_user_written_endpoints_and_empty_ones() -> None:
    desired: dict[str, Obj] = {"default/ext": {"kind": "Endpoints", "metadata": {**META, "name": "ext"},
                               "subsets": [{"addresses": [{"ip": "1.2.3.4"}], "ports": [{"port": 5432}]}]},
               "default/none": {"kind": "Endpoints", "metadata": {**META, "name": "none"}}}
    rows = render_table("endpoints", list(objects(desired, {}).values()), now=NOW).splitlines()
    assert rows[1].split()[:2] == ["ext", "1.2.3.4:5432"]
    assert rows[2].split()[:2] == ["none", "<none>"]


def test_describe_service_like_kubectl() -> None:
    from services.cli.printers import describe_service_lines

    svc = {"metadata": META, "spec": {"type": "NodePort", "selector": {"app": "web"}, "clusterIP": "10.96.0.5",
                                      "ports": [{"name": "http", "port": 80, "targetPort": "http",
                                                 "nodePort": 30080, "protocol": "TCP"}]}}
    endpoints = {"subsets": [{"addresses": [{"ip": "172.17.0.2"}],
                              "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]}
    lines = [" ".join(line.split()) for line in describe_service_lines(svc, endpoints)]
    assert lines == ["Selector: app=web", "Type: NodePort", "IP Family Policy: SingleStack",
                     "IP Families: IPv4", "IP: 10.96.0.5", "IPs: 10.96.0.5", "Port: http 80/TCP",
                     "TargetPort: http/TCP", "NodePort: http 30080/TCP", "Endpoints: 172.17.0.2:8080",
                     "Session Affinity: None", "External Traffic Policy: Cluster"]
