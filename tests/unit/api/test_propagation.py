"""The pure helpers the API needs for propagationPolicy and namespace finalizers."""

from __future__ import annotations

from services.api.propagation import blocks_removal, finalizers_after_delete, namespace_defaults


def cm(*finalizers: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x", **({"finalizers": list(finalizers)} if finalizers else {})}}


def test_policies_set_the_collectors_finalizer() -> None:
    assert finalizers_after_delete(cm(), None) == []
    assert finalizers_after_delete(cm("a"), "Foreground") == ["a", "foregroundDeletion"]
    assert finalizers_after_delete(cm("orphan"), "Foreground") == ["foregroundDeletion"]
    assert finalizers_after_delete(cm("foregroundDeletion"), "Orphan") == ["orphan"]
    assert finalizers_after_delete(cm("a", "orphan"), "Background") == ["a"]
    assert finalizers_after_delete(cm("orphan"), None) == ["orphan"]


def test_what_blocks_removal() -> None:
    assert not blocks_removal(cm())
    assert blocks_removal(cm("a"))
    ns = namespace_defaults({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "t"}})
    assert ns["spec"] == {"finalizers": ["kubernetes"]} and blocks_removal(ns)
    assert not blocks_removal({**ns, "spec": {"finalizers": []}})
    assert namespace_defaults({**ns, "spec": {"finalizers": []}})["spec"] == {"finalizers": []}
    assert namespace_defaults(cm()) == cm()
