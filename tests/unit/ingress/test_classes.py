"""Which Ingresses the controller serves (its IngressClass, the default class) and the
status it writes (services/ingress/classes.py)."""

from __future__ import annotations

from typing import Any

from services.ingress.classes import CONTROLLER, load_balancer_status, served, status_changes


def cls(name: str, controller: str = CONTROLLER, default: bool = False) -> dict[str, Any]:
    annotations = {"ingressclass.kubernetes.io/is-default-class": "true"} if default else {}
    return {"metadata": {"name": name, "annotations": annotations}, "spec": {"controller": controller}}


def ing(class_name: str | None) -> dict[str, Any]:
    spec = {"ingressClassName": class_name} if class_name else {}
    return {"metadata": {"name": "x", "namespace": "default"}, "spec": spec}


INGRESSES = {"default/ours": ing("kafkube"), "default/theirs": ing("nginx"), "default/none": ing(None),
             "default/unknown": ing("nosuch")}


def test_only_ingresses_of_our_class_are_served() -> None:
    classes = {"kafkube": cls("kafkube"), "nginx": cls("nginx", "k8s.io/ingress-nginx")}
    assert set(served(INGRESSES, classes)) == {"default/ours"}


def test_ingresses_without_class_are_served_when_our_class_is_the_default() -> None:
    ours_default = {"kafkube": cls("kafkube", default=True), "nginx": cls("nginx", "k8s.io/ingress-nginx")}
    assert set(served(INGRESSES, ours_default)) == {"default/ours", "default/none"}
    theirs_default = {"kafkube": cls("kafkube"), "nginx": cls("nginx", "k8s.io/ingress-nginx", default=True)}
    assert set(served(INGRESSES, theirs_default)) == {"default/ours"}


def test_status_written_once_and_removed_when_no_longer_ours() -> None:
    ours = {"default/a": ing("kafkube"), "default/b": ing("kafkube")}
    observed = {"default/a": {"writer": "w", "status": load_balancer_status("10.0.0.1")},
                "default/gone": {"writer": "w", "status": load_balancer_status("10.0.0.1")},
                "default/other": {"writer": "someone", "status": {}}}
    changes = status_changes(ours, observed, address="10.0.0.1", writer="w")
    assert changes == {"default/b": {"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}]}}, "default/gone": None}
    moved = status_changes(ours, observed, address="10.0.0.2", writer="w")
    assert moved["default/a"] == load_balancer_status("10.0.0.2")
