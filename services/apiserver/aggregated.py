"""Aggregated discovery (`apidiscovery.k8s.io/v2`): `/api` and `/apis` as one
`APIGroupDiscoveryList` each, for clients that ask for it in `Accept` (kubectl and
client-go since 1.30 do, and so learn every resource in two requests instead of one per
group-version). Built from the legacy documents of `services.apiserver.discovery`, so the
two always list the same resources and verbs. Pure; negotiated by `services.apiserver.app`."""

from __future__ import annotations

from functools import cache
from typing import Any

from services.apiserver import discovery

MEDIA_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def wanted(accept: str) -> bool:
    """Does the client's `Accept` ask for the v2 aggregated document?"""
    for offer in accept.split(","):
        params = {p.strip() for p in offer.split(";")[1:]}
        if {"g=apidiscovery.k8s.io", "v=v2", "as=APIGroupDiscoveryList"} <= params:
            return True
    return False


def _subresource(entry: dict[str, Any], group: str, version: str) -> dict[str, Any]:
    return {"subresource": entry["name"].partition("/")[2],
            "responseKind": {"group": entry.get("group", group), "version": entry.get("version", version),
                             "kind": entry["kind"]},
            "verbs": entry["verbs"]}


def _resources(listed: list[dict[str, Any]], group: str, version: str) -> list[dict[str, Any]]:
    resources: dict[str, dict[str, Any]] = {}
    for entry in (e for e in listed if "/" not in e["name"]):
        resource = {"resource": entry["name"],
                    "responseKind": {"group": group, "version": version, "kind": entry["kind"]},
                    "scope": "Namespaced" if entry["namespaced"] else "Cluster",
                    "singularResource": entry["singularName"], "verbs": entry["verbs"]}
        resource |= {k: entry[k] for k in ("shortNames", "categories") if k in entry}
        resources[entry["name"]] = resource
    for entry in (e for e in listed if "/" in e["name"]):
        parent = resources.get(entry["name"].partition("/")[0])
        if parent is not None:
            parent.setdefault("subresources", []).append(_subresource(entry, group, version))
    return list(resources.values())


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    listed = []
    for version in versions:
        document = discovery.resource_list(name, version)
        resources = _resources(document["resources"], name, version) if document else []
        listed.append({"version": version, "resources": resources, "freshness": "Current"})
    return {"metadata": {"name": name, "creationTimestamp": None}, "versions": listed}


def _list(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {},
            "items": items}


@cache
def core() -> dict[str, Any]:
    """`/api` aggregated: the core group, named ""."""
    return _list([_group("", discovery.core_versions()["versions"])])


@cache
def groups() -> dict[str, Any]:
    """`/apis` aggregated: every named group."""
    return _list([_group(g["name"], [v["version"] for v in g["versions"]])
                  for g in discovery.group_list()["groups"]])
