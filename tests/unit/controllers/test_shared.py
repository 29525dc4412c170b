"""The controller manager's one informer: every controller's view reads the same
store, a view's handlers see only its own topics, one start for all views."""

from __future__ import annotations

from typing import Any

import pytest

from services.controllers.machinery.informer import SharedInformer
from services.runtime.config import Settings
from services.runtime.informer import Change, Informer


def change(topic: str, key: str, new: Any) -> Change[Any]:
    return Change(topic, key, None, new, 0, 0)


async def test_views_share_one_informer_and_filter_handlers(monkeypatch: pytest.MonkeyPatch) -> None:
    starts: list[list[str]] = []

    async def start(self: Informer[Any]) -> None:
        starts.append(list(self._topics))

    async def stop(self: Informer[Any]) -> None:
        starts.append([])

    monkeypatch.setattr(Informer, "start", start)
    monkeypatch.setattr(Informer, "stop", stop)
    shared = SharedInformer(Settings())
    pods_nodes = shared.view(["pods", "nodes"])
    pods_rs = shared.view(["pods", "rs"])
    seen: dict[str, list[str]] = {"a": [], "b": []}
    pods_nodes.add_handler(lambda c: seen["a"].append(c.topic))
    pods_rs.add_handler(lambda c: seen["b"].append(c.topic))

    async with pods_nodes, pods_rs:
        assert starts == [["pods", "nodes", "rs"]]  # one informer over the union, started once
        with pytest.raises(RuntimeError):
            pods_rs.add_handler(lambda c: None)  # too late: it would miss the replay
        informer = shared.informer
        for topic in ("pods", "nodes", "rs"):
            informer._stores[topic][f"default/{topic}"] = {"kind": topic}
            informer._handlers[0](change(topic, f"default/{topic}", {"kind": topic}))
        assert pods_nodes.get("pods", "default/pods") is pods_rs.get("pods", "default/pods")  # one copy
    assert starts == [["pods", "nodes", "rs"], []]  # stopped when the last view left
    assert seen == {"a": ["pods", "nodes"], "b": ["pods", "rs"]}
    with pytest.raises(RuntimeError):
        shared.view(["services"])
