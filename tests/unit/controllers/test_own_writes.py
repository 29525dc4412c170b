"""The machinery's memory of a controller's own writes (machinery/own_writes.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from services.controllers.machinery.own_writes import WrittenStatus, write_seen

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def observed(uid: str, at: datetime, active: int) -> dict[str, object]:
    return {"metadata": {"uid": uid}, "observedAt": at.isoformat(), "status": {"active": active}}


def test_our_later_status_wins_until_the_view_catches_up() -> None:
    memory = WrittenStatus()
    assert memory.current("ns/a", "u1", observed("u1", T0, 1)) == {"active": 1}  # nothing written: the view's
    memory.remember("ns/a", "u1", T0 + timedelta(seconds=1), {"active": 2})
    assert memory.current("ns/a", "u1", observed("u1", T0, 1)) == {"active": 2}  # the view lags
    assert memory.current("ns/a", "u1", None) == {"active": 2}
    assert memory.current("ns/a", "u1", observed("u1", T0 + timedelta(seconds=2), 3)) == {"active": 3}
    assert memory.current("ns/a", "u1", observed("u1", T0, 1)) == {"active": 1}  # ours was dropped


def test_another_objects_status_is_never_read() -> None:
    memory = WrittenStatus()
    memory.remember("ns/a", "old", T0, {"active": 5})
    assert memory.current("ns/a", "new", observed("old", T0, 5)) is None
    memory.forget("ns/a")
    assert memory.current("ns/a", "old", None) is None


def test_write_seen() -> None:
    child = {"metadata": {"uid": "c1"}}
    assert write_seen(child, ("create", "x")) and not write_seen(None, ("create", "x"))
    assert not write_seen(child, ("delete", "x", "c1"))
    assert write_seen(None, ("delete", "x", "c1")) and write_seen(child, ("delete", "x", "c0"))
    assert write_seen({"metadata": {"uid": "c1", "deletionTimestamp": "t"}}, ("delete", "x", "c1"))
