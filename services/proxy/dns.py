"""The cluster DNS: Services' names under the cluster domain, served over UDP and TCP.

`DnsView.build(services, endpoints, domain)` is the pure name table:
`<svc>.<ns>.svc.<domain>` A -> the ClusterIP, or for a headless Service the ready
endpoint IPs, and `<hostname>.<svc>.<ns>.svc.<domain>` A -> the IP of each ready endpoint
with a hostname (a pod whose spec.subdomain is the Service: StatefulSet pods); `_<port>._<proto>.<svc>.<ns>.svc.<domain>` SRV -> port + service name.
`answer(query, view)` is the pure resolver: authoritative answers for the domain,
NXDOMAIN for unknown names in it, NOERROR without records (NODATA) for a known name of
another type (AAAA), and REFUSED for every other name (no upstream). `DnsServer` puts it
on `ip:53` (UDP and TCP); a TCP client gets `read_s` for each read (the length prefix
and the message, and the wait for its next query) and at most `max_tcp` TCP clients are
served at once (further ones are closed at accept), so a slow or silent client holds
nothing for long. Parsing and encoding: dnslib (see README).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dnslib import QTYPE, RCODE, RR, SRV, A, DNSRecord

from services.proxy.table import cluster_ip, subsets_of
from services.runtime.logging import get_logger

log = get_logger(__name__)
TTL = 5
Obj = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class DnsView:
    domain: str
    a: dict[str, tuple[str, ...]] = field(default_factory=dict)
    srv: dict[str, tuple[tuple[int, str], ...]] = field(default_factory=dict)  # name -> (port, target)

    @classmethod
    def build(cls, services: Mapping[str, Obj], endpoints: Mapping[str, Obj | None], domain: str) -> "DnsView":
        domain = domain.strip(".").lower()
        a: dict[str, tuple[str, ...]] = {}
        srv: dict[str, tuple[tuple[int, str], ...]] = {}
        for key, svc in services.items():
            namespace, name = key.split("/", 1)
            fqdn = f"{name}.{namespace}.svc.{domain}".lower()
            spec = svc.get("spec") or {}
            ip = cluster_ip(svc)
            if ip is not None:
                a[fqdn] = (ip,)
            elif spec.get("clusterIP") == "None":
                a[fqdn] = _ready_ips(endpoints.get(key))
                for hostname, ips in _hostnames(endpoints.get(key)).items():
                    a[f"{hostname}.{fqdn}".lower()] = ips
            for port in spec.get("ports") or []:
                if port.get("name") and port.get("port"):
                    proto = str(port.get("protocol") or "TCP").lower()
                    srv[f"_{port['name']}._{proto}.{fqdn}".lower()] = ((int(port["port"]), fqdn),)
        return cls(domain, a, srv)

    def in_domain(self, name: str) -> bool:
        return name == self.domain or name.endswith("." + self.domain)


def _ready_ips(endpoints: Obj | None) -> tuple[str, ...]:
    ips = {a["ip"] for s in subsets_of(endpoints) for a in s.get("addresses") or [] if a.get("ip")}
    return tuple(sorted(ips))


def _hostnames(endpoints: Obj | None) -> dict[str, tuple[str, ...]]:
    """The ready addresses that carry a `hostname` (a pod whose subdomain is the Service,
    e.g. a StatefulSet's): hostname -> its IPs, as CoreDNS serves them."""
    found: dict[str, set[str]] = {}
    for subset in subsets_of(endpoints):
        for address in subset.get("addresses") or []:
            if address.get("hostname") and address.get("ip"):
                found.setdefault(str(address["hostname"]), set()).add(str(address["ip"]))
    return {name: tuple(sorted(ips)) for name, ips in found.items()}


def answer(query: bytes, view: DnsView) -> bytes | None:
    """The reply to one DNS message; None for garbage (dropped, as resolvers expect)."""
    try:
        request = DNSRecord.parse(query)
    except Exception:  # dnslib raises several types on bad input
        return None
    reply = request.reply()  # qr, aa, rd copied, ra
    if not request.questions:
        reply.header.rcode = RCODE.FORMERR
        return bytes(reply.pack())
    question = request.q
    name = str(question.qname).rstrip(".").lower()
    if not view.in_domain(name):
        reply.header.aa = 0
        reply.header.rcode = RCODE.REFUSED
    elif name in view.a or name in view.srv:
        _records(reply, question, name, view)
    else:
        reply.header.rcode = RCODE.NXDOMAIN
    return bytes(reply.pack())


def _records(reply: DNSRecord, question: Any, name: str, view: DnsView) -> None:
    qtype = question.qtype
    if qtype in (QTYPE.A, QTYPE.ANY):
        for ip in view.a.get(name, ()):
            reply.add_answer(RR(question.qname, QTYPE.A, rdata=A(ip), ttl=TTL))
    if qtype in (QTYPE.SRV, QTYPE.ANY):
        for port, target in view.srv.get(name, ()):
            reply.add_answer(RR(question.qname, QTYPE.SRV, rdata=SRV(0, 100, port, target + "."), ttl=TTL))
            for ip in view.a.get(target, ()):
                reply.add_ar(RR(target + ".", QTYPE.A, rdata=A(ip), ttl=TTL))


class DnsServer:
    """UDP and TCP on `ip:port`; `view` is swapped whole when Services change."""

    def __init__(self, ip: str, port: int, view: DnsView, *, max_tcp: int = 64, read_s: float = 10.0) -> None:
        self.ip, self.port, self.view = ip, port, view
        self.max_tcp, self.read_s = max_tcp, read_s
        self.tcp_clients = 0
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.ip, self.port))
        self._udp, _ = await loop.create_datagram_endpoint(lambda: _Udp(self), sock=sock)
        self._tcp = await asyncio.start_server(self._tcp_client, self.ip, self.port, reuse_address=True)
        log.info("dns.listening", address=f"{self.ip}:{self.port}", domain=self.view.domain)

    async def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.tcp_clients >= self.max_tcp:
            log.info("dns.tcp_limit", limit=self.max_tcp)
            writer.close()
            return
        self.tcp_clients += 1
        try:
            with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, asyncio.TimeoutError):
                while True:
                    size = struct.unpack("!H", await asyncio.wait_for(reader.readexactly(2), self.read_s))[0]
                    reply = answer(await asyncio.wait_for(reader.readexactly(size), self.read_s), self.view)
                    if reply is None:
                        break
                    writer.write(struct.pack("!H", len(reply)) + reply)
                    await asyncio.wait_for(writer.drain(), self.read_s)
        finally:
            self.tcp_clients -= 1
            writer.close()


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        reply = answer(data, self.server.view)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)
