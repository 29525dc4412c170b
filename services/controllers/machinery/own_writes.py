"""A controller's own writes that its view may not show yet: the status it last wrote
per key (read back instead of an older one from the view, so counting from a stale
status never counts a child twice), and whether a child it asked to create or delete
shows as such. Pure apart from the dict it keeps; used by the Job and CronJob
controllers."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from datetime import datetime
from typing import Any

from services.controllers.machinery.podview import parse_time


class WrittenStatus:
    """The status each key's controller wrote last, with the object's uid and the
    record's `observedAt`, until the view shows that record (or a later one)."""

    def __init__(self) -> None:
        self._written: dict[str, tuple[str, datetime, dict[str, Any]]] = {}

    def remember(self, key: str, uid: str, observed_at: datetime, status: dict[str, Any]) -> None:
        self._written[key] = (uid, observed_at, status)

    def forget(self, key: str) -> None:
        self._written.pop(key, None)

    def current(self, key: str, uid: str | None, observed: Any) -> dict[str, Any] | None:
        """The status to decide on: ours, unless the view's record (of the same object)
        is as recent or more, e.g. another replica's after a takeover; then the view's,
        and ours is dropped."""
        if not isinstance(observed, Mapping) or (observed.get("metadata") or {}).get("uid") != uid:
            observed = None
        written = self._written.get(key)
        if written is not None and written[0] == uid:
            seen_at = parse_time(observed.get("observedAt")) if observed is not None else None
            if seen_at is None or seen_at < written[1]:
                return written[2]
            del self._written[key]
        status = observed.get("status") if observed is not None else None
        return status if isinstance(status, dict) else None


def write_seen(child: Mapping[str, Any] | None, token: Hashable) -> bool:
    """Does the view show the write a token names: ("create", name) once the child
    exists; ("delete", name, uid) once it is gone, replaced or being deleted."""
    assert isinstance(token, tuple)
    if token[0] == "create":
        return child is not None
    meta = (child or {}).get("metadata") or {}
    return child is None or meta.get("uid") != token[2] or bool(meta.get("deletionTimestamp"))
