"""Aggregated discovery (apidiscovery.k8s.io/v2) lists exactly what the legacy documents
list, and is chosen only when the client's Accept asks for it."""

from __future__ import annotations

from typing import Any

from services.apiserver import aggregated, discovery

KUBECTL_ACCEPT = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                  "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")


def flattened(document: dict[str, Any]) -> set[tuple[str, str, str, str, tuple[str, ...]]]:
    """(group, version, resource[/sub], kind, verbs) of every entry."""
    found = set()
    for item in document["items"]:
        for version in item["versions"]:
            for r in version["resources"]:
                found.add((item["metadata"]["name"], version["version"], r["resource"], r["responseKind"]["kind"],
                           tuple(r["verbs"])))
                found |= {(item["metadata"]["name"], version["version"], f"{r['resource']}/{s['subresource']}",
                           s["responseKind"]["kind"], tuple(s["verbs"])) for s in r.get("subresources", [])}
    return found


def legacy() -> set[tuple[str, str, str, str, tuple[str, ...]]]:
    versions = [("", v) for v in discovery.core_versions()["versions"]]
    versions += [(g["name"], v["version"]) for g in discovery.group_list()["groups"] for v in g["versions"]]
    found = set()
    for group, version in versions:
        document = discovery.resource_list(group, version)
        assert document is not None
        found |= {(group, version, r["name"], r["kind"], tuple(r["verbs"])) for r in document["resources"]}
    return found


def test_the_aggregated_documents_list_what_the_legacy_ones_do() -> None:
    assert flattened(aggregated.core()) | flattened(aggregated.groups()) == legacy()
    deployments = next(r for i in aggregated.groups()["items"] if i["metadata"]["name"] == "apps"
                       for r in i["versions"][0]["resources"] if r["resource"] == "deployments")
    assert deployments["scope"] == "Namespaced" and deployments["shortNames"] == ["deploy"]
    assert {"subresource": "scale", "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
            "verbs": ["get", "patch", "update"]} in deployments["subresources"]


def test_only_a_client_that_asks_gets_the_aggregated_document() -> None:
    assert aggregated.wanted(KUBECTL_ACCEPT)
    assert not aggregated.wanted("application/json")
    assert not aggregated.wanted("application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList")
    assert not aggregated.wanted("")
