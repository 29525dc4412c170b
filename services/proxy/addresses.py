"""The node-local interface that holds the ClusterIPs (and the cluster DNS IP) as /32s,
so that the proxy can bind `clusterIP:port` and traffic to a ClusterIP from the host or
from a container on the Docker bridge (routed to the host via the bridge gateway) ends
at the proxy's socket. Like kube-proxy's IPVS mode `kube-ipvs0`.

A `dummy` link when the kernel has the module; otherwise an empty `bridge` (no ports,
so no traffic leaves through it: it only makes its addresses local). Driven with the
`ip` command (iproute2); needs CAP_NET_ADMIN. Also the node's own addresses, for the
NodePorts (`node_ipv4`; the primary one is services.runtime.hostnet's). Used by `services.proxy.service`.
"""

from __future__ import annotations

import asyncio

import orjson

from services.runtime.logging import get_logger

log = get_logger(__name__)


class InterfaceError(Exception):
    """An `ip` command failed (usually: no CAP_NET_ADMIN). Not retriable."""

    retriable = False


async def _ip(*args: str, check: bool = True) -> str:
    proc = await asyncio.create_subprocess_exec(
        "ip", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if check and proc.returncode != 0:
        raise InterfaceError(f"ip {' '.join(args)}: {err.decode(errors='replace').strip()}")
    return out.decode() if proc.returncode == 0 else ""


class LocalAddresses:
    """`ensure()` the link, `sync(wanted)` its /32 addresses, `delete()` it at shutdown."""

    def __init__(self, name: str = "kafkube0") -> None:
        if not 0 < len(name) <= 15:
            raise ValueError(f"interface name {name!r} must have 1 to 15 characters")
        self.name = name
        self.kind: str | None = None

    async def ensure(self) -> None:
        if await _ip("link", "show", "dev", self.name, check=False):
            self.kind = "existing"
        else:
            for kind in ("dummy", "bridge"):
                if await self._add(kind):
                    self.kind = kind
                    break
            else:
                raise InterfaceError(f"cannot create interface {self.name} (dummy or bridge): "
                                     "the proxy needs CAP_NET_ADMIN and the host network")
        await _ip("link", "set", "dev", self.name, "up")
        log.info("proxy.interface", name=self.name, kind=self.kind)

    async def _add(self, kind: str) -> bool:
        try:
            await _ip("link", "add", self.name, "type", kind)
            return True
        except InterfaceError as exc:
            log.info("proxy.interface_kind_unavailable", kind=kind, error=str(exc)[:200])
            return False

    async def current(self) -> set[str]:
        raw = await _ip("-j", "addr", "show", "dev", self.name)
        found: set[str] = set()
        for link in orjson.loads(raw or "[]"):
            for info in link.get("addr_info") or []:
                if info.get("family") == "inet":
                    found.add(str(info["local"]))
        return found

    async def sync(self, wanted: set[str]) -> None:
        """Add the missing addresses, remove the others (a deleted Service's)."""
        have = await self.current()
        for ip in sorted(wanted - have):
            await _ip("addr", "add", f"{ip}/32", "dev", self.name)
        for ip in sorted(have - wanted):
            await _ip("addr", "del", f"{ip}/32", "dev", self.name, check=False)
        if wanted != have:
            log.info("proxy.addresses", added=len(wanted - have), removed=len(have - wanted))

    async def delete(self) -> None:
        await _ip("link", "del", "dev", self.name, check=False)


async def node_ipv4(*, skip: str) -> list[str]:
    """Every IPv4 address on the node's interfaces but `skip` (the proxy's own)."""
    found = []
    for link in orjson.loads(await _ip("-j", "-4", "addr", "show") or "[]"):
        if link.get("ifname") != skip:
            found += [str(i["local"]) for i in link.get("addr_info") or [] if i.get("family") == "inet"]
    return found
