"""Which Ingresses this controller serves, and the status it owes them. Pure.

`served(ingresses, classes, controller=...)`: an Ingress whose `spec.ingressClassName`
names an IngressClass with `spec.controller` equal to ours; one without a class name
when an IngressClass of ours is annotated `ingressclass.kubernetes.io/is-default-class:
"true"` (Kubernetes' default class; the admission that would write the name into the
Ingress is not there, so the controller applies the default when it reads).
`unusable(ingress)`: why a stored Ingress cannot be read (skipped, logged), or None.
`status_changes(served, observed, address=...)`: the `status` to write per Ingress key
(`status.loadBalancer.ingress[0].ip` = our address), None to remove a status we no
longer owe (the Ingress is gone or no longer ours); only what differs from the topic.
Called by `services.ingress.service`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from schemas.networking import INGRESS_CONTROLLER, Ingress, served_by

Obj = Mapping[str, Any]
CONTROLLER = INGRESS_CONTROLLER


def served(ingresses: Mapping[str, Obj], classes: Mapping[str, Obj], *,
           controller: str = CONTROLLER) -> dict[str, Obj]:
    """The Ingresses (by key) this controller routes (`schemas.networking.served_by`)."""
    return {key: ingress for key, ingress in ingresses.items() if served_by(ingress, classes, controller)}


def unusable(ingress: Obj) -> str | None:
    """Why a stored Ingress cannot be routed (it is not an Ingress the model reads), or None.
    The API admitted it, so this only guards the controller against a record it cannot read."""
    try:
        Ingress.model_validate(dict(ingress))
    except ValidationError as exc:
        first = exc.errors()[0]
        return f'{".".join(str(p) for p in first["loc"])}: {first["msg"]}'
    return None


def load_balancer_status(address: str) -> dict[str, Any]:
    return {"loadBalancer": {"ingress": [{"ip": address}]}}


def status_changes(served: Mapping[str, Obj], observed: Mapping[str, Obj | None], *,
                   address: str, writer: str) -> dict[str, dict[str, Any] | None]:
    """Per Ingress key, the status to write (None: a tombstone for one we wrote before)."""
    wanted = load_balancer_status(address)
    changes: dict[str, dict[str, Any] | None] = {}
    for key in served:
        current = observed.get(key)
        if current is None or current.get("status") != wanted:
            changes[key] = wanted
    for key, current in observed.items():
        if key not in served and current is not None and current.get("writer") == writer:
            changes[key] = None
    return changes
