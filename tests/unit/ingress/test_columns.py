"""What `kubectl get ingress|ingressclass` shows (schemas/printing.py, served as the
apiserver's Tables): kubectl's NAME CLASS HOSTS ADDRESS PORTS AGE and NAME CONTROLLER
PARAMETERS AGE."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from services.apiserver.tables import table

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
CREATED = "2026-01-01T11:55:00Z"


def cells(plural: str, obj: dict[str, Any]) -> tuple[list[str], list[str]]:
    shown = table(plural, [obj], now=NOW, include_object="None")
    return [c["name"] for c in shown["columnDefinitions"]], shown["rows"][0]["cells"]


def test_ingress_columns() -> None:
    rules = [{"host": h} for h in ("a.example.com", "b.example.com", "c.example.com", "d.example.com")] + [{}]
    ingress = {"metadata": {"name": "web", "namespace": "default", "creationTimestamp": CREATED},
               "spec": {"ingressClassName": "kafkube", "rules": rules, "tls": [{"secretName": "t"}]},
               "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}, {"hostname": "lb.example.com"}]}}}
    assert cells("ingresses", ingress) == (
        ["Name", "CLASS", "HOSTS", "ADDRESS", "PORTS", "Age"],
        ["web", "kafkube", "a.example.com,b.example.com,c.example.com + 2 more...", "192.0.2.10,lb...",
         "80, 443", "5m"])  # kubectl cuts the address at 16 characters
    bare = {"metadata": {"name": "any", "creationTimestamp": CREATED}, "spec": {"rules": [{}, {"host": "x.org"}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.2"}, {"ip": "10.0.0.1"}]}}}  # sorted
    assert cells("ingresses", bare)[1] == ["any", "<none>", "x.org", "10.0.0.1,10.0...", "80", "5m"]


def test_ingress_class_columns() -> None:
    cls: dict[str, Any] = {"metadata": {"name": "kafkube", "creationTimestamp": CREATED}, "spec": {"controller": "kafkube.io/ingress"}}
    assert cells("ingressclasses", cls) == (["Name", "CONTROLLER", "PARAMETERS", "Age"],
                                            ["kafkube", "kafkube.io/ingress", "<none>", "5m"])
    cls["spec"]["parameters"] = {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "p"}
    assert cells("ingressclasses", cls)[1][2] == "IngressParameters.k8s.example.com/p"


def test_the_default_class_is_named_so_on_both_printers() -> None:
    from services.cli.printers import render_table

    default = {"ingressclass.kubernetes.io/is-default-class": "true"}
    cls: dict[str, Any] = {"metadata": {"name": "kafkube", "creationTimestamp": CREATED, "annotations": default},
                           "spec": {"controller": "kafkube.io/ingress"}}
    assert cells("ingressclasses", cls)[1][0] == "kafkube (default)"
    assert render_table("ingressclasses", [cls], now=NOW).splitlines()[1].split()[:2] == ["kafkube", "(default)"]
    cls["metadata"]["annotations"]["ingressclass.kubernetes.io/is-default-class"] = "false"
    assert cells("ingressclasses", cls)[1][0] == "kafkube"
