"""`host:port` settings (KAFKUBE_METRICS_ADDRESS, the dashboard's and the ingress'
listeners), parsed before anything starts and without importing a web server."""

from __future__ import annotations


class BadAddress(ValueError):
    """A listener setting is not `host:port`."""


def parse_address(address: str) -> tuple[str, int]:
    """`host:port` (an IPv6 host in brackets) as (host, port)."""
    host, sep, port = address.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise BadAddress(f"KAFKUBE_METRICS_ADDRESS={address!r}: expected host:port, e.g. 0.0.0.0:9100")
    return host, int(port)
