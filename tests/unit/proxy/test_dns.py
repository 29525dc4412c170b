"""DNS answers built from Services and Endpoints (packets through dnslib)."""

from __future__ import annotations

from dnslib import QTYPE, RCODE, DNSRecord

from services.proxy.dns import DnsView, answer

SERVICES = {
    "default/web": {"spec": {"clusterIP": "10.96.0.5", "ports": [{"name": "http", "port": 80}]}},
    "default/db": {"spec": {"clusterIP": "None", "ports": [{"port": 5432}]}},
}
ENDPOINTS = {"default/db": {"status": {"subsets": [
    {"addresses": [{"ip": "172.17.0.4"}, {"ip": "172.17.0.3"}], "notReadyAddresses": [{"ip": "172.17.0.9"}]}]}}}
VIEW = DnsView.build(SERVICES, ENDPOINTS, "cluster.local")


def ask(name: str, qtype: str = "A") -> DNSRecord:
    reply = answer(bytes(DNSRecord.question(name, qtype).pack()), VIEW)
    assert reply is not None
    return DNSRecord.parse(reply)


def test_cluster_ip_service_answers_its_cluster_ip() -> None:
    reply = ask("web.default.svc.cluster.local")
    assert reply.header.rcode == RCODE.NOERROR and reply.header.aa == 1
    assert [str(r.rdata) for r in reply.rr] == ["10.96.0.5"]
    assert [str(r.rdata) for r in ask("WEB.Default.svc.cluster.local.").rr] == ["10.96.0.5"]


def test_headless_service_answers_ready_endpoint_ips() -> None:
    assert sorted(str(r.rdata) for r in ask("db.default.svc.cluster.local").rr) == ["172.17.0.3", "172.17.0.4"]


def test_unknown_cluster_name_is_nxdomain_and_other_type_is_nodata() -> None:
    assert ask("nope.default.svc.cluster.local").header.rcode == RCODE.NXDOMAIN
    assert ask("web.default.svc.cluster.local.default.svc.cluster.local").header.rcode == RCODE.NXDOMAIN
    aaaa = ask("web.default.svc.cluster.local", "AAAA")
    assert aaaa.header.rcode == RCODE.NOERROR and not aaaa.rr


def test_outside_names_are_refused_and_garbage_is_dropped() -> None:
    assert ask("example.com").header.rcode == RCODE.REFUSED
    assert answer(b"\x00\x01garbage", VIEW) is None


def test_srv_for_named_ports() -> None:
    reply = ask("_http._tcp.web.default.svc.cluster.local", "SRV")
    assert reply.rr[0].rtype == QTYPE.SRV and reply.rr[0].rdata.port == 80
    assert str(reply.rr[0].rdata.target) == "web.default.svc.cluster.local."
    assert [str(r.rdata) for r in reply.ar] == ["10.96.0.5"]
