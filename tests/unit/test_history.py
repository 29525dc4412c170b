"""Pure parts of time travel: instants, what changed between versions, history rows."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.cli.history import Version, changes, history_rows, parse_instant

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def test_instants_are_iso_times_or_ages() -> None:
    assert parse_instant("10m", NOW) == NOW - timedelta(minutes=10)
    assert parse_instant("2h", NOW) == NOW - timedelta(hours=2)
    assert parse_instant("2026-11-25T10:00:00Z") == datetime(2026, 11, 25, 10, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match='invalid time "yesterday"'):
        parse_instant("yesterday", NOW)


def cm(rv: str, data: dict[str, str], **meta: object) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "resourceVersion": rv, **meta},
            "data": data}


def test_changes_name_the_paths_that_moved() -> None:
    assert changes(cm("1", {"a": "1", "b": "x"}), cm("2", {"a": "2", "b": "x"})) == "data.a: 1 -> 2"
    assert changes(cm("1", {"a": "1"}), cm("2", {"a": "1"}, labels={"tier": "web"})) == \
        "metadata.labels.tier: <none> -> web"
    assert changes(None, cm("1", {})) == ""


def test_history_rows_show_who_and_what() -> None:
    found = [Version(1, NOW, cm("5", {"a": "1"}, generation=1), "Created", "kafkube-cli", "api-intake"),
             Version(2, NOW, cm("9", {"a": "2"}, generation=2), "Updated", "kafkube-cli", "api-intake"),
             Version(3, NOW, None, "Deleted", "system:node:n1", "kubelet/n1")]
    rows = history_rows(found)
    assert [r[0] for r in rows] == ["5", "9", "-"]
    assert rows[1][2:] == ["Updated", "kafkube-cli (api-intake)", "2", "data.a: 1 -> 2"]
    assert rows[2][2] == "Deleted"
