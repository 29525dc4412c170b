"""The resource a request path names: `/api/v1/namespaces/default/pods/web/status` is
(Pod, namespace `default`, name `web`, subresource `status`), as upstream's
`RequestInfoFactory` splits it. Pure; used by `services.apiserver.resources`."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.registry import ALL_KINDS, CONVERTED_KINDS, KindInfo
from services.apiserver.event_objects import EVENTS_V1
from services.apiserver.metrics_kinds import METRICS_KINDS

_BY_GROUP_PLURAL = {(k.group, k.version, k.plural): k for k in (*ALL_KINDS, *CONVERTED_KINDS, EVENTS_V1,
                                                                  *METRICS_KINDS)}


@dataclass(frozen=True, slots=True)
class ResourcePath:
    """A request for one kind: a collection (`name` empty) or one object (and a subresource)."""

    info: KindInfo
    namespace: str = ""  # empty: all namespaces (a list), or a cluster-scoped kind
    name: str = ""
    subresource: str = ""
    served: KindInfo | None = None  # the version asked, when the store keeps `info` (services.apiserver.conversion)


class UnknownPath(LookupError):
    """The path names no resource this server serves (a 404 NotFound)."""


def parse(path: str) -> ResourcePath:
    """`/api/v1/...` or `/apis/<group>/<version>/...` to its resource, or UnknownPath."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise UnknownPath(path)
    namespace = ""
    # /namespaces/<ns>/<plural>...: a namespaced request, unless it is the namespace
    # itself (/namespaces/<ns> or its subresource /namespaces/<ns>/status)
    if len(rest) >= 3 and rest[0] == "namespaces" and (group, version, rest[2]) in _BY_GROUP_PLURAL:
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        raise UnknownPath(path)
    info = _BY_GROUP_PLURAL.get((group, version, rest[0]))
    if info is None or (namespace and not info.namespaced):
        raise UnknownPath(path)
    name, subresource = (*rest[1:], "", "")[:2]
    return ResourcePath(info, namespace, name, subresource)
