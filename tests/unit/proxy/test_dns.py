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


def test_headless_service_answers_each_ready_hostname_with_its_pod_ip() -> None:
    endpoints = {"ns1/web": {"status": {"subsets": [{
        "addresses": [{"ip": "172.17.0.4", "hostname": "web-0"}, {"ip": "172.17.0.5", "hostname": "web-1"},
                      {"ip": "172.17.0.8"}],
        "notReadyAddresses": [{"ip": "172.17.0.9", "hostname": "web-2"}]}]}}}
    services = {"ns1/web": {"spec": {"clusterIP": "None"}}, "ns1/api": {"spec": {"clusterIP": "10.96.0.7"}}}
    view = DnsView.build(services, {**endpoints, "ns1/api": endpoints["ns1/web"]}, "cluster.local")

    def ips(name: str) -> tuple[int, list[str]]:
        reply = answer(bytes(DNSRecord.question(name, "A").pack()), view)
        assert reply is not None
        parsed = DNSRecord.parse(reply)
        return parsed.header.rcode, [str(r.rdata) for r in parsed.rr]

    assert ips("web-0.web.ns1.svc.cluster.local") == (RCODE.NOERROR, ["172.17.0.4"])
    assert ips("WEB-1.web.ns1.svc.cluster.local.") == (RCODE.NOERROR, ["172.17.0.5"])
    assert ips("web-2.web.ns1.svc.cluster.local")[0] == RCODE.NXDOMAIN  # not ready: no record
    assert ips("web-0.api.ns1.svc.cluster.local")[0] == RCODE.NXDOMAIN  # a ClusterIP Service: none
    assert sorted(ips("web.ns1.svc.cluster.local")[1]) == ["172.17.0.4", "172.17.0.5", "172.17.0.8"]
