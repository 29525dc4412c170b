"""Wiring of the proxy (`kafkube serve proxy [--node NAME]`): one per node.

An informer follows desired Services and Endpoints (desired: user-written, for Services
without selector; observed: the endpoints controller's). Every change marks the table
dirty; one loop recomputes the pure `table.frontends`, then: closes the listeners no
longer wanted, syncs the ClusterIPs on the local interface (`addresses`), opens the new
listeners and hands every listener its current backends; the DNS server gets a new
`DnsView`. Listeners that fail to open (port in use) are retried every few seconds.
NodePorts bind the addresses `policy.nodeport_ips` chose at start; Endpoints addresses
outside the pod network are left out of the table and logged once each
(`proxy.backend_refused`; the proxy has no event emitter).
On shutdown every listener closes and the interface (with its addresses) is deleted;
after a SIGKILL the next start adopts the interface and removes stale addresses.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass
from typing import Any

from services.proxy.addresses import InterfaceError, LocalAddresses, node_ipv4
from services.proxy.dns import DnsServer, DnsView
from services.proxy.forward import Budget, TcpFrontend, UdpFrontend, close_quietly, open_frontend
from services.proxy.policy import DEFAULT_POD_CIDR, Limits, PodNetwork, nodeport_ips, refused_backends
from services.runtime.podnet import DEFAULT_CLUSTER_DNS_IP, DEFAULT_CLUSTER_DOMAIN
from services.proxy.table import Frontend, Route, RoundRobin, endpoint_ips, frontends, local_addresses
from services.runtime.buskeys import bus_trust
from services.runtime.config import Settings
from services.runtime.hostnet import node_address
from services.runtime.informer import Informer
from services.runtime.logging import get_logger
from services.runtime.supervisor import Component
from services.runtime.topics import Topics

log = get_logger(__name__)
RETRY_S = 3.0


@dataclass(frozen=True, slots=True)
class ProxyOptions:
    node: str | None = None
    interface: str = "kafkube0"
    dns_ip: str = DEFAULT_CLUSTER_DNS_IP
    dns_port: int = 53
    domain: str = DEFAULT_CLUSTER_DOMAIN
    dns: bool = True
    limits: Limits = Limits()
    pod_network: PodNetwork = PodNetwork.parse(DEFAULT_POD_CIDR)
    nodeport_addresses: str | None = None  # CIDRs, or None/"primary": primary address + 127.0.0.1

    @classmethod
    def from_env(cls, node: str | None = None) -> "ProxyOptions":
        env = os.environ
        return cls(node=node, interface=env.get("KAFKUBE_PROXY_INTERFACE", "kafkube0"),
                   dns_ip=env.get("KAFKUBE_CLUSTER_DNS_IP", DEFAULT_CLUSTER_DNS_IP),
                   dns_port=int(env.get("KAFKUBE_CLUSTER_DNS_PORT", "53")),
                   domain=env.get("KAFKUBE_CLUSTER_DOMAIN", DEFAULT_CLUSTER_DOMAIN),
                   dns=env.get("KAFKUBE_CLUSTER_DNS", "on").lower() not in ("off", "0", "false"),
                   limits=Limits.from_env(env),
                   pod_network=PodNetwork.parse(env.get("KAFKUBE_POD_CIDR", DEFAULT_POD_CIDR)),
                   nodeport_addresses=env.get("KAFKUBE_NODEPORT_ADDRESSES"))


def proxy_components(settings: Settings, *, node: str | None = None) -> dict[str, Component]:
    return {"proxy": Proxy(settings, ProxyOptions.from_env(node)).run}


class Proxy:
    def __init__(self, settings: Settings, options: ProxyOptions) -> None:
        self._options = options
        topics = Topics(settings.topic_prefix)
        self._svc_t = topics.desired("services")
        self._ep_t, self._ep_obs_t = topics.desired("endpoints"), topics.observed("endpoints")
        self._view: Informer[Any] = Informer(settings, [self._svc_t, self._ep_t, self._ep_obs_t], name="proxy",
                                             trust=bus_trust(settings))
        self._dirty = asyncio.Event()
        self._addresses = LocalAddresses(options.interface)
        self._held: set[str] | None = None
        self._open: dict[Frontend, TcpFrontend | UdpFrontend] = {}
        self._balancers: dict[Frontend, RoundRobin] = {}
        self._failed: set[Frontend] = set()
        self._dns: DnsServer | None = None
        self._budgets: dict[str, Budget] = {}
        self._refused: set[tuple[str, str]] = set()
        self._node_ips: tuple[str, ...] = ()
        self._pod_network = options.pod_network

    @property
    def reserved(self) -> set[Frontend]:
        o = self._options
        return {Frontend(o.dns_ip, o.dns_port, "UDP"), Frontend(o.dns_ip, o.dns_port, "TCP")} if o.dns else set()

    async def run(self) -> None:
        self._view.add_handler(lambda _change: self._dirty.set())
        await self._addresses.ensure()
        o = self._options
        local = await node_ipv4(skip=o.interface)
        self._node_ips = nodeport_ips(o.nodeport_addresses, local, node_address())
        self._pod_network = o.pod_network.without([*local, node_address()])
        log.info("proxy.nodeport_addresses", addresses=list(self._node_ips), setting=o.nodeport_addresses)
        try:
            async with self._view:
                await self._view.wait_synced()
                log.info("proxy.started", node=self._options.node, interface=self._options.interface)
                while True:
                    self._dirty.clear()
                    await self.reconcile()
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._dirty.wait(),
                                               RETRY_S if self._failed or self._held is None else None)
        finally:
            await self._shutdown()

    def _endpoints(self) -> dict[str, Any]:
        return {**self._view.items(self._ep_t), **self._view.items(self._ep_obs_t)}

    async def reconcile(self) -> None:
        services, endpoints = self._view.items(self._svc_t), self._endpoints()
        self._log_refused(endpoints)
        table = frontends(services, endpoints, reserved=self.reserved, node_ips=self._node_ips,
                          allowed=self._pod_network.allows)
        for front in [f for f in self._open if f not in table]:
            await close_quietly(self._open.pop(front))
            self._balancers.pop(front, None)
            log.info("proxy.closed", frontend=_show(front))
        served = {route.service for route in table.values()}
        self._budgets = {key: budget for key, budget in self._budgets.items() if key in served}
        wanted = local_addresses(table) | ({self._options.dns_ip} if self._options.dns else set())
        retry = bool(self._failed)
        self._failed = set()
        if wanted != self._held or retry:
            try:
                await self._addresses.sync(wanted)
                self._held = wanted
            except InterfaceError as exc:  # listeners on missing addresses fail below and retry
                log.warning("proxy.addresses_failed", error=str(exc)[:300])
                self._held = None
        for front, route in table.items():
            await self._serve(front, route)
        if self._options.dns:
            await self._update_dns(DnsView.build(services, endpoints, self._options.domain))

    async def _serve(self, front: Frontend, route: Route) -> None:
        balancer = self._balancers.get(front)
        if balancer is not None:
            if balancer.backends != route.backends:
                log.info("proxy.backends", frontend=_show(front), service=route.service,
                         backends=[f"{b.ip}:{b.port}" for b in route.backends])
            balancer.update(route.backends)
            return
        balancer = RoundRobin(route.backends)
        budget = self._budgets.setdefault(route.service, Budget(route.service, self._options.limits.tcp_conns_per_service))
        try:
            self._open[front] = await open_frontend(front, balancer, limits=self._options.limits, budget=budget)
        except OSError as exc:
            self._failed.add(front)
            log.warning("proxy.listen_failed", frontend=_show(front), service=route.service, error=str(exc))
            return
        self._balancers[front] = balancer
        log.info("proxy.listening", frontend=_show(front), service=route.service,
                 backends=[f"{b.ip}:{b.port}" for b in route.backends])

    async def _update_dns(self, view: DnsView) -> None:
        if self._dns is not None:
            self._dns.view = view
            return
        limits = self._options.limits
        server = DnsServer(self._options.dns_ip, self._options.dns_port, view,
                           max_tcp=limits.dns_tcp_conns, read_s=limits.dns_tcp_read_s)
        try:
            await server.start()
        except OSError as exc:
            await server.close()
            self._failed.add(Frontend(self._options.dns_ip, self._options.dns_port, "UDP"))
            log.warning("dns.listen_failed", error=str(exc))
            return
        self._dns = server

    def _log_refused(self, endpoints: dict[str, Any]) -> None:
        """Log each Endpoints address outside the pod network once (it is never dialled)."""
        refused = refused_backends({k: endpoint_ips(v) for k, v in endpoints.items()}, self._pod_network)
        for key, ip in sorted(refused - self._refused):
            namespace, _, name = key.partition("/")
            log.warning("proxy.backend_refused", kind="Endpoints", namespace=namespace, name=name, ip=ip,
                        reason="not a pod address (outside the pod network, or the node's own)",
                        pod_cidr=[str(n) for n in self._pod_network.networks])
        self._refused = refused

    async def _shutdown(self) -> None:
        for front in list(self._open):
            await close_quietly(self._open.pop(front))
        if self._dns is not None:
            await self._dns.close()
        await self._addresses.delete()
        log.info("proxy.stopped", interface=self._options.interface)


def _show(front: Frontend) -> str:
    return f"{front.ip}:{front.port}/{front.protocol}"
