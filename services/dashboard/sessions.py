"""Logged-in browsers: a session id (random, 256 bits, in an httpOnly, SameSite=Strict
cookie) names the bearer token its user logged in with. The token is authenticated again
on every request (`services.dashboard.app`), so a token the cluster stops accepting ends
the session at once. Sessions expire after `ttl_s` and live in this process only (a
restarted dashboard asks to log in again). Pure: the clock is handed in."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

COOKIE = "kafkube_session"
TTL_S = 8 * 3600.0


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    expires: float


class Sessions:
    def __init__(self, *, ttl_s: float = TTL_S) -> None:
        self._ttl_s = ttl_s
        self._held: dict[str, Session] = {}

    def open(self, token: str, *, now: float) -> str:
        """A new session for `token`; its id. Expired sessions are dropped on the way."""
        self._held = {sid: s for sid, s in self._held.items() if s.expires > now}
        sid = secrets.token_urlsafe(32)
        self._held[sid] = Session(token, now + self._ttl_s)
        return sid

    def token(self, sid: str | None, *, now: float) -> str | None:
        """The token of a live session, or None."""
        session = self._held.get(sid or "")
        return session.token if session is not None and session.expires > now else None

    def close(self, sid: str | None) -> None:
        self._held.pop(sid or "", None)
