"""resourceVersions of the HTTP API: positions in Kafka, so that a client resumes a watch
from any resourceVersion it was given, by any apiserver replica, after any restart.

A kind's objects live on two compacted topics, `kafkube.desired.<plural>` and
`kafkube.observed.<plural>`. A *position* of the kind is, for each of their partitions in
a fixed order (the desired topic's partitions, then the observed topic's), the offset of
the next record to apply: a fact of the broker, the same for every reader. An event is
"after" a position when its record's offset is at or beyond the position's offset for
its partition, so every replica answers a watch from a position with the same records.

The token is `<own>.<plural>.<n0>.<n1>...`: `own` is the object's own resourceVersion
(the offset of the request that wrote it, which the API checks an update's precondition
against; `0` for a list), `plural` names the kind the position belongs to. Clients treat
it as opaque, as Kubernetes asks. A bare number (an object's own resourceVersion, as the
`kafkube` CLI shows it) is still accepted as an update's precondition. Pure."""

from __future__ import annotations

from dataclasses import dataclass

LIST_OWN = "0"


class BadVersion(ValueError):
    """A resourceVersion that is not a position of this kind."""


@dataclass(frozen=True, slots=True)
class Version:
    own: str
    plural: str
    position: tuple[int, ...]


def encode(own: str, plural: str, position: tuple[int, ...]) -> str:
    return ".".join((own or LIST_OWN, plural, *map(str, position)))


def decode(token: str, plural: str, width: int) -> Version:
    """The position in `token`, which must be one of `plural` with `width` partitions."""
    own, _, rest = token.partition(".")
    named, _, offsets = rest.partition(".")
    parts = offsets.split(".") if offsets else []
    if named != plural or len(parts) != width or not all(p.isdigit() for p in parts) or not own.isdigit():
        raise BadVersion(f"resourceVersion {token!r} is not a position of {plural}")
    return Version(own, plural, tuple(int(p) for p in parts))


def own_version(token: object) -> str | None:
    """The object's own resourceVersion in a token a client sent back (an update's or a
    delete's precondition); None when it names none."""
    if not isinstance(token, str) or not token:
        return None
    own = token.partition(".")[0]
    return None if own in ("", LIST_OWN) else own
