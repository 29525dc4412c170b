"""The ingress routing table (services/ingress/routing.py): host and path rules as
Kubernetes defines them, backends from Services and Endpoints, default backend, TLS."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.ingress.routing import Backend, build, normalize_host

SERVICES = {f"default/{name}": {"metadata": {"name": name, "namespace": "default"},
                                "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}
            for name in ("web", "api", "fallback", "empty")}
ENDPOINTS: dict[str, Any] = {
    "default/web": {"status": {"subsets": [{"addresses": [{"ip": "172.17.0.2"}, {"ip": "172.17.0.3"}],
                                            "notReadyAddresses": [{"ip": "172.17.0.9"}],
                                            "ports": [{"name": "http", "port": 8080}]}]}},
    "default/api": {"subsets": [{"addresses": [{"ip": "172.17.0.4"}], "ports": [{"name": "http", "port": 8080}]}]},
    "default/fallback": {"status": {"subsets": [{"addresses": [{"ip": "172.17.0.5"}],
                                                 "ports": [{"name": "http", "port": 8080}]}]}},
}


def backend(service: str, port: Any = 80) -> dict[str, Any]:
    key = "number" if isinstance(port, int) else "name"
    return {"service": {"name": service, "port": {key: port}}}


def path(p: str, kind: str, service: str) -> dict[str, Any]:
    return {"path": p, "pathType": kind, "backend": backend(service)}


def ingress(name: str, *, rules: list[dict[str, Any]] = (), default: str | None = None,  # type: ignore[assignment]
            tls: list[dict[str, Any]] = (), created: str = "2026-01-01T00:00:00Z") -> dict[str, Any]:  # type: ignore[assignment]
    spec: dict[str, Any] = {"rules": list(rules), "tls": list(tls)}
    if default:
        spec["defaultBackend"] = backend(default)
    return {"metadata": {"name": name, "namespace": "default", "creationTimestamp": created}, "spec": spec}


def service_of(table: Any, host: str, p: str) -> str | None:
    target = table.route(host, p)
    return None if target is None else target.service.split("/")[1]


def test_hosts_exact_then_wildcard_then_any_host_then_default() -> None:
    table = build([ingress("a", default="fallback", rules=[
        {"host": "foo.example.com", "http": {"paths": [path("/", "Prefix", "web")]}},
        {"host": "*.example.com", "http": {"paths": [path("/", "Prefix", "api")]}},
        {"http": {"paths": [path("/only", "Exact", "web")]}},
    ])], SERVICES, ENDPOINTS)
    assert service_of(table, "foo.example.com", "/x") == "web"
    assert service_of(table, "bar.example.com", "/x") == "api"
    assert service_of(table, "a.bar.example.com", "/x") == "fallback"  # a wildcard matches one label only
    assert service_of(table, "example.com", "/x") == "fallback"
    assert service_of(table, "other.org", "/only") == "web"
    assert service_of(table, "other.org", "/only/") == "fallback"  # Exact is exact


def test_prefix_matches_by_path_element() -> None:
    table = build([ingress("a", rules=[{"http": {"paths": [path("/foo/", "Prefix", "web"),
                                                           path("/aaa/bb", "Prefix", "api")]}}])],
                  SERVICES, ENDPOINTS)
    assert service_of(table, "h", "/foo") == "web"
    assert service_of(table, "h", "/foo/") == "web"
    assert service_of(table, "h", "/foo/bar") == "web"
    assert service_of(table, "h", "/foobar") is None
    assert service_of(table, "h", "/aaa/bbb") is None
    assert service_of(table, "h", "/aaa/bb/ccc") == "api"


def test_implementation_specific_is_prefix_and_nothing_matching_is_none() -> None:
    table = build([ingress("a", rules=[{"host": "h", "http": {"paths": [
        {"pathType": "ImplementationSpecific", "backend": backend("web")},
        path("/api", "ImplementationSpecific", "api")]}}])], SERVICES, ENDPOINTS)
    assert service_of(table, "h", "/api/v1") == "api"
    assert service_of(table, "h", "/anything") == "web"
    assert table.route("other", "/") is None


def test_backends_are_the_ready_addresses_of_the_named_service_port() -> None:
    table = build([ingress("a", rules=[{"http": {"paths": [
        path("/web", "Prefix", "web"), path("/empty", "Prefix", "empty"),
        {"path": "/named", "pathType": "Prefix", "backend": backend("api", "http")},
        {"path": "/wrong", "pathType": "Prefix", "backend": backend("api", 81)},
        path("/missing", "Prefix", "nosuch")]}}])], SERVICES, ENDPOINTS)
    web = table.route("h", "/web")
    assert web is not None and web.backends == (Backend("172.17.0.2", 8080), Backend("172.17.0.3", 8080))
    named = table.route("h", "/named")
    assert named is not None and named.backends == (Backend("172.17.0.4", 8080),)
    for p in ("/empty", "/wrong", "/missing"):
        target = table.route("h", p)
        assert target is not None and target.backends == (), p  # a 503, not a 404


def test_oldest_ingress_gives_the_default_backend_and_tls_entries() -> None:
    newer = ingress("b", default="web", tls=[{"hosts": ["a.example.com"], "secretName": "new"}],
                    created="2026-02-01T00:00:00Z")
    older = ingress("a", default="fallback", tls=[{"hosts": ["a.example.com", "*.wild.org"], "secretName": "old"}])
    table = build([newer, older], SERVICES, ENDPOINTS)
    assert service_of(table, "h", "/") == "fallback"
    assert table.secret_for("a.example.com") == "default/old"
    assert table.secret_for("x.wild.org") == "default/old"
    assert table.secret_for("x.y.wild.org") is None and table.secret_for("b.example.com") is None


def test_host_header_normalised() -> None:
    assert normalize_host("Foo.Example.COM:8443") == "foo.example.com"
    assert normalize_host("foo.example.com.") == "foo.example.com"
    assert normalize_host("[::1]:80") == "[::1]"


SEGMENT = st.text(alphabet="abc", min_size=1, max_size=3)
PATHS = st.lists(SEGMENT, min_size=0, max_size=4).map(lambda parts: "/" + "/".join(parts))


@settings(deadline=None)
@given(prefixes=st.lists(PATHS, min_size=1, max_size=6, unique=True), request=PATHS)
def test_longest_matching_prefix_wins(prefixes: list[str], request: str) -> None:
    services = {f"default/s{i}": SERVICES["default/web"] for i in range(len(prefixes))}
    table = build([ingress("a", rules=[{"http": {"paths": [path(p, "Prefix", f"s{i}")
                                                            for i, p in enumerate(prefixes)]}}])], services, {})
    matching = [p for p in prefixes if request.split("/")[1:][:len(p.strip("/").split("/"))] == p.strip("/").split("/")
                or p == "/"]
    target = table.route("h", request)
    if not matching:
        assert target is None
    else:
        longest = max(matching, key=len)
        assert target is not None and target.service == f"default/s{prefixes.index(longest)}"


@settings(deadline=None)
@given(p=PATHS, exact_first=st.booleans())
def test_exact_beats_prefix_for_the_same_path(p: str, exact_first: bool) -> None:
    rules = [path(p, "Exact", "api"), path(p, "Prefix", "web")]
    table = build([ingress("a", rules=[{"http": {"paths": rules if exact_first else rules[::-1]}}])],
                  SERVICES, ENDPOINTS)
    assert service_of(table, "h", p) == "api"
    assert service_of(table, "h", p.rstrip("/") + "/more") == "web"


JSON = st.recursive(st.none() | st.booleans() | st.integers(-5, 70000) | st.text(max_size=6),
                    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(
                        ["rules", "defaultBackend", "tls", "host", "http", "paths", "path", "pathType", "backend",
                         "service", "name", "port", "number", "hosts", "secretName", "resource"]), children,
                        max_size=4), max_leaves=16)


@settings(max_examples=300, deadline=None)
@given(spec=st.dictionaries(st.sampled_from(["rules", "defaultBackend", "tls"]), JSON, max_size=3))
def test_any_readable_ingress_builds_a_table(spec: dict[str, Any]) -> None:
    """What the controller's model reads (classes.unusable is None) never breaks the table."""
    from services.ingress.classes import unusable

    stored = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
              "metadata": {"name": "x", "namespace": "default"}, "spec": spec}
    problem = unusable(stored)
    if problem is None:
        build([stored], SERVICES, ENDPOINTS).route("h", "/")
    else:
        assert problem.startswith("spec"), problem  # names the field the model could not read
