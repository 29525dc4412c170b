"""Authentication: a bearer token from a record's `kafkube.token` header becomes a
`UserInfo`, as kube-apiserver's token authenticators do.

Sources: the static token file (`KAFKUBE_TOKEN_AUTH_FILE`, kube-apiserver's
`--token-auth-file` CSV: `token,user,uid,"group1,group2"`) and ServiceAccount tokens
the API issued (`services.api.sa_tokens`). No token is `system:anonymous`; a token no
source knows is refused (Unauthorized). Pure apart from reading the file once; used by
the API's manifest intake and request writer.
"""

from __future__ import annotations

import csv
import hashlib
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from schemas.auth import ANONYMOUS_USER, AUTHENTICATED_GROUP, TOKEN_HEADER, UserInfo
from schemas.records import header_value

TokenVerifier = Callable[[str], UserInfo | None]


class TokenFileError(ValueError):
    """The token file cannot be read: its message names the line and the problem."""


def token_digest(token: str) -> bytes:
    """Tokens are looked up by their SHA-256: no comparison with a secret's bytes leaks timing."""
    return hashlib.sha256(token.encode()).digest()


def parse_token_file(text: str, *, source: str = "token file") -> dict[bytes, UserInfo]:
    """kube-apiserver's token file: one `token,user,uid[,"group1,group2"]` per line,
    as a map from the token's digest to its user."""
    users: dict[bytes, UserInfo] = {}
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if len(row) < 3:
            raise TokenFileError(f"{source}:{number}: expected token,user,uid[,groups]: found {len(row)} fields")
        token, name, uid = (cell.strip() for cell in row[:3])
        if not token or not name:
            raise TokenFileError(f"{source}:{number}: the token and the user name may not be empty")
        if token_digest(token) in users:
            raise TokenFileError(f"{source}:{number}: duplicate token for user {name!r}")
        groups = [g.strip() for g in row[3].split(",") if g.strip()] if len(row) > 3 else []
        users[token_digest(token)] = UserInfo(username=name, uid=uid, groups=(*groups, AUTHENTICATED_GROUP))
    return users


def load_token_file(path: str | Path) -> dict[bytes, UserInfo]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise TokenFileError(f"cannot read the token file {path}: {exc.strerror or exc}") from exc
    return parse_token_file(text, source=str(path))


class TokenFile:
    """The static token file, read again when it changes, so adding or revoking a node's
    or a user's token needs no restart of the API."""

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._path, self._clock = Path(path), clock
        self._stamp: tuple[int, int] | None = None
        self._checked = -1.0
        self._users: dict[bytes, UserInfo] = {}
        self._refresh()

    def get(self, digest: bytes) -> UserInfo | None:
        """The token's user. A revoked token stops working within a second; a token just
        added works at once (an unknown token makes the file be looked at again)."""
        if self._clock() - self._checked >= 1.0:
            self._refresh()
        user = self._users.get(digest)
        if user is None:
            self._refresh()
            user = self._users.get(digest)
        return user

    def _refresh(self) -> None:
        self._checked = self._clock()
        try:
            stat = self._path.stat()
        except OSError as exc:
            if self._stamp is None:
                raise TokenFileError(f"cannot read the token file {self._path}: {exc.strerror or exc}") from exc
            return  # keep the tokens we have while the file is being replaced
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._users, self._stamp = load_token_file(self._path), stamp


@dataclass(frozen=True)
class Authenticator:
    """Tries the static tokens, then each verifier (ServiceAccount tokens)."""

    static: dict[bytes, UserInfo] | TokenFile = field(default_factory=dict)  # token digest -> user
    verifiers: tuple[TokenVerifier, ...] = ()

    def authenticate(self, token: str | None) -> UserInfo | None:
        """The token's user; `system:anonymous` without a token; None for a bad token."""
        if not token:
            return ANONYMOUS_USER
        if (user := self.static.get(token_digest(token))) is not None:
            return user
        for verify in self.verifiers:
            if (user := verify(token)) is not None:
                return user
        return None

    def of_record(self, headers: tuple[tuple[str, bytes], ...] | list[tuple[str, bytes]] | None) -> UserInfo | None:
        token = header_value(headers, TOKEN_HEADER)
        return self.authenticate(token.strip() if token else None)


def authenticator_for(token_auth_file: str | None, *, verifiers: tuple[TokenVerifier, ...] = ()) -> Authenticator:
    """The API's authenticator: the static token file if one is configured."""
    return Authenticator(TokenFile(token_auth_file) if token_auth_file else {}, verifiers)
