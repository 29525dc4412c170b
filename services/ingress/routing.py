"""The ingress controller's routing table, from Ingresses, Services and Endpoints. Pure.

`build(ingresses, services, endpoints)` turns the stored JSON of the Ingresses this
controller serves (`classes.served` chose them) into a `Table`; `Table.route(host, path)`
says which Service port a request goes to (with its ready backends) or that nothing
matches (404). Rules follow Kubernetes' Ingress semantics:
- host: an exact host beats a wildcard (`*.example.com` matches exactly one more label),
  which beats rules without host; the first of those that has a matching path decides;
- path: `Exact` matches the whole path (case-sensitive); `Prefix` matches element by
  element split on `/` (`/foo` matches `/foo`, `/foo/` and `/foo/bar`, never `/foobar`;
  a trailing `/` is ignored); `ImplementationSpecific` is treated as `Prefix` (an empty
  path as `/`); the longest path wins and, on a tie, `Exact` beats `Prefix`;
- nothing matched: the `defaultBackend` of the oldest Ingress that has one, else 404.
Called by `services.ingress.service`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Obj = Mapping[str, Any]


@dataclass(frozen=True, order=True, slots=True)
class Backend:
    ip: str
    port: int


@dataclass(frozen=True, slots=True)
class Target:
    """A Service port an Ingress path leads to, and its ready backends (none: 503)."""

    service: str  # namespace/name
    port: str  # "80" or a port name, as the Ingress names it
    backends: tuple[Backend, ...] = ()


@dataclass(frozen=True, slots=True)
class PathRule:
    path: str
    exact: bool
    target: Target

    def matches(self, path: str) -> bool:
        if self.exact:
            return path == self.path
        wanted = _elements(self.path)
        return _elements(path)[:len(wanted)] == wanted

    @property
    def rank(self) -> tuple[int, bool]:
        """Longer paths first; on a tie Exact first."""
        return (len(self.path if self.exact else self.path.rstrip("/")), self.exact)


def _elements(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


@dataclass(frozen=True, slots=True)
class Table:
    exact: Mapping[str, tuple[PathRule, ...]] = field(default_factory=dict)  # host -> rules
    wildcard: Mapping[str, tuple[PathRule, ...]] = field(default_factory=dict)  # ".example.com" -> rules
    any_host: tuple[PathRule, ...] = ()
    default: Target | None = None
    tls: Mapping[str, str] = field(default_factory=dict)  # host or "*.domain" -> "namespace/secret"

    def route(self, host: str, path: str) -> Target | None:
        """The target of a request for `host` (lower case, no port) and `path`; None: 404."""
        for rules in (self.exact.get(host), self.wildcard.get(wildcard_suffix(host)), self.any_host):
            best = max((r for r in rules or () if r.matches(path)), key=lambda r: r.rank, default=None)
            if best is not None:
                return best.target
        return self.default

    def secret_for(self, server_name: str) -> str | None:
        """The TLS Secret of a host (SNI name): exact entry, else its wildcard entry."""
        return self.tls.get(server_name) or self.tls.get("*" + wildcard_suffix(server_name))

    def targets(self) -> set[Target]:
        rules = [*self.any_host, *(r for rs in self.exact.values() for r in rs),
                 *(r for rs in self.wildcard.values() for r in rs)]
        return {r.target for r in rules} | ({self.default} if self.default else set())


def wildcard_suffix(host: str) -> str:
    """`.example.com` of `foo.example.com` (what a `*.example.com` rule matches on); "" for one label."""
    _, dot, rest = host.partition(".")
    return dot + rest if rest else ""


def normalize_host(header: str) -> str:
    """A Host header as rules compare it: lower case, no port, no trailing dot."""
    host = header.strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0].rstrip(".") if ":" in host else host.rstrip(".")


def _ready(service: Obj | None, endpoints: Obj | None, port: Obj) -> tuple[Backend, ...]:
    """Ready addresses of the Service port the backend names (by number or by name)."""
    ports = ((service or {}).get("spec") or {}).get("ports") or []
    wanted = [p for p in ports if (port.get("number") and p.get("port") == port["number"])
              or (port.get("name") and p.get("name") == port["name"])]
    if not wanted or not endpoints:
        return ()
    name = wanted[0].get("name") or ""
    subsets = endpoints.get("subsets") if "subsets" in endpoints else (endpoints.get("status") or {}).get("subsets")
    found = {Backend(str(a["ip"]), int(p["port"]))
             for s in subsets or [] for p in s.get("ports") or []
             if (p.get("name") or "") == name and (p.get("protocol") or "TCP") == "TCP"
             for a in s.get("addresses") or [] if a.get("ip")}
    return tuple(sorted(found))


def _target(namespace: str, backend: Obj | None, services: Mapping[str, Obj],
            endpoints: Mapping[str, Obj | None]) -> Target | None:
    svc = (backend or {}).get("service")
    if not svc or not svc.get("name"):
        return None  # a `resource` backend: not served by this controller
    port = svc.get("port") or {}
    key = f"{namespace}/{svc['name']}"
    return Target(key, str(port.get("number") or port.get("name") or ""),
                  _ready(services.get(key), endpoints.get(key), port))


def _age(ingress: Obj) -> tuple[str, str]:
    meta = ingress.get("metadata") or {}
    return (str(meta.get("creationTimestamp") or ""), f"{meta.get('namespace')}/{meta.get('name')}")


def build(ingresses: Iterable[Obj], services: Mapping[str, Obj], endpoints: Mapping[str, Obj | None]) -> Table:
    """The table of the served Ingresses (oldest first: its default backend and TLS entries win)."""
    exact: dict[str, list[PathRule]] = {}
    wildcard: dict[str, list[PathRule]] = {}
    any_host: list[PathRule] = []
    default: Target | None = None
    tls: dict[str, str] = {}
    for ingress in sorted(ingresses, key=_age):
        namespace = str((ingress.get("metadata") or {}).get("namespace") or "default")
        spec = ingress.get("spec") or {}
        if default is None:
            default = _target(namespace, spec.get("defaultBackend"), services, endpoints)
        for rule in spec.get("rules") or []:
            host = str(rule.get("host") or "").lower()
            into = any_host if not host else wildcard.setdefault(host[1:], []) if host.startswith("*.") \
                else exact.setdefault(host, [])
            for path in (rule.get("http") or {}).get("paths") or []:
                target = _target(namespace, path.get("backend"), services, endpoints)
                if target is not None:
                    into.append(PathRule(str(path.get("path") or "/"), path.get("pathType") == "Exact", target))
        for entry in spec.get("tls") or []:
            if entry.get("secretName"):
                for host in entry.get("hosts") or []:
                    tls.setdefault(str(host).lower(), f"{namespace}/{entry['secretName']}")
    return Table({h: tuple(r) for h, r in exact.items()}, {h: tuple(r) for h, r in wildcard.items()},
                 tuple(any_host), default, tls)
