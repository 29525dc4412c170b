"""`kafkube serve SERVICE`: run one service (or `all`) as this process."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from dataclasses import dataclass

import click

from services.apiserver.options import ApiServerOptions, NoCertificate
from services.runtime import buskeys, gcpolicy
from services.runtime.bus import ensure_topics, wait_for_kafka
from services.runtime.config import Settings
from services.runtime.errors import KafkaUnavailable, TopicMisconfigured
from services.runtime.logging import configure_logging, get_logger
from services.runtime.address import BadAddress, parse_address
from services.runtime.trust import BusKeysError
from services.runtime.supervisor import Component, supervise
from services.runtime.topics import Topics

SERVICES = ("api", "apiserver", "scheduler", "kubelet", "endpoints", "proxy", "ingress", "controllers", "dashboard",
            "all")


@dataclass(frozen=True)
class KubeletOptions:
    nodes: tuple[str, ...]
    runtime: str  # docker | hollow


def _apiserver(service: str, settings: Settings, options: ApiServerOptions | None) -> dict[str, Component]:
    """`serve apiserver`; in `all` whenever a certificate is known (`all`'s own credentials
    write one; else KAFKUBE_APISERVER_CERT_FILE/KEY_FILE): the HTTP API serves HTTPS only."""
    options = options or ApiServerOptions.from_env()
    if service == "all" and not (options.cert_file and options.key_file):
        return {}
    from services.apiserver.service import apiserver_components

    return apiserver_components(settings, options)


def components_for(service: str, settings: Settings, kubelet: KubeletOptions,
                   apiserver: ApiServerOptions | None = None) -> dict[str, Component]:
    """The components of one service; `all` is the control plane plus the given kubelets."""
    components: dict[str, Component] = {}
    if service in ("api", "all"):
        from services.api.service import api_components

        components |= api_components(settings)
    if service in ("apiserver", "all"):
        components |= _apiserver(service, settings, apiserver)
    if service in ("scheduler", "all"):
        from services.scheduler.service import scheduler_components

        components |= scheduler_components(settings)
    if service in ("controllers", "all"):
        from services.controllers.service import controllers_components

        components |= controllers_components(settings)
    if service in ("endpoints", "all"):
        from services.endpoints.service import endpoints_components

        components |= endpoints_components(settings)
    if service == "proxy":  # not in `all`: it needs CAP_NET_ADMIN and the host network
        from services.proxy.service import proxy_components

        components |= proxy_components(settings, node=kubelet.nodes[0] if kubelet.nodes else None)
    if service == "dashboard":  # not in `all`: it listens on KAFKUBE_DASHBOARD_ADDRESS (docs/dashboard.md)
        from services.dashboard.service import dashboard_components

        components |= dashboard_components(settings)
    if service == "ingress":  # not in `all`: it listens on the node's HTTP(S) ports
        from services.ingress.service import ingress_components

        components |= ingress_components(settings)
    if service == "kubelet" or (service == "all" and kubelet.nodes):
        components |= _kubelets(settings, kubelet)
    return components


def _kubelets(settings: Settings, kubelet: KubeletOptions) -> dict[str, Component]:
    """One kubelet per node; several hollow nodes share one process's views (a fleet)."""
    if kubelet.runtime == "hollow" and len(kubelet.nodes) > 1:
        from services.kubelet.fleet import fleet_components

        return fleet_components(settings, nodes=list(kubelet.nodes))
    from services.kubelet.service import kubelet_components

    components: dict[str, Component] = {}
    for node in kubelet.nodes:
        components |= kubelet_components(settings, node=node, runtime=kubelet.runtime)
    return components


async def _serve(service: str, settings: Settings, kubelet: KubeletOptions, apiserver: ApiServerOptions) -> int:
    log = get_logger("kafkube.serve")
    try:
        _bus_keys(service, settings)
        await wait_for_kafka(settings)
        await ensure_topics(settings, Topics(settings.topic_prefix).specs())
        components = components_for(service, settings, kubelet, apiserver) | _metrics(settings)
    except (KafkaUnavailable, TopicMisconfigured, BusKeysError, NoCertificate, BadAddress, OSError) as exc:
        log.error("serve.cannot_start", error=str(exc))
        click.echo(f"error: {exc}", err=True)
        return 1
    log.info("serve.started", bootstrap=settings.bootstrap_servers, prefix=settings.topic_prefix)
    return await supervise(components)


def _metrics(settings: Settings) -> dict[str, Component]:
    """/metrics, /healthz and /readyz when KAFKUBE_METRICS_ADDRESS is set (docs/metrics.md)."""
    address = settings.metrics_address
    if address is None:
        return {}
    parse_address(address)  # refused before anything starts
    from services.runtime.metrics_http import serve_metrics  # aiohttp: only when asked for

    return {"metrics": lambda: serve_metrics(address)}


def _bus_keys(service: str, settings: Settings) -> None:
    """The process's record-signing keys, checked before anything starts: `all` without
    a key file (and not declared insecure) shares a ring generated in memory."""
    if service == "all" and not settings.bus_keys_file and not settings.insecure_bus:
        buskeys.install_ephemeral()
    buskeys.bus_trust(settings)  # raises BusKeysError naming KAFKUBE_BUS_KEYS_FILE


def _state_dir() -> Path:
    return Path(os.environ.get("KAFKUBE_STATE_DIR") or "~/.kafkube/cluster").expanduser()


def _own_credentials(settings: Settings, nodes: tuple[str, ...]) -> Settings:
    """`serve all` without a token file is a whole cluster: it writes its credentials, as
    k3s does, into KAFKUBE_STATE_DIR (default ~/.kafkube/cluster) and runs with them: the
    control plane as the admin, each kubelet as its node. Says where the admin config is."""
    from services.cli.credentials import SERVICE_ACCOUNT_KEY, init_credentials

    directory = _state_dir()
    admin = init_credentials(directory, nodes=list(nodes), bootstrap_servers=settings.bootstrap_servers,
                             topic_prefix=settings.topic_prefix)
    token = (directory / "tokens" / "admin.token").read_text(encoding="utf-8").strip()
    click.echo(f"kafkube: cluster credentials in {directory}; the admin's CLI config: "
               f"export KAFKUBE_CONFIG={admin}; kubectl: KAFKUBE_CONFIG={admin} kafkube config kubeconfig "
               "> kubeconfig", err=True)
    return settings.model_copy(update={"token_auth_file": str(directory / "tokens.csv"), "token": token,
                                       "node_token_dir": str(directory / "tokens"),
                                       "service_account_key_file": settings.service_account_key_file
                                       or str(directory / SERVICE_ACCOUNT_KEY)})


@click.command()
@click.argument("service", type=click.Choice(SERVICES))
@click.option("--node", "nodes", multiple=True, help="Node name of a kubelet (repeatable).")
@click.option("--nodes", "count", type=int, default=0,
              help="Run COUNT nodes named <prefix>0000... (hollow: one fleet process).")
@click.option("--node-prefix", default="hollow-", show_default=True, help="Name prefix of --nodes.")
@click.option("--runtime", type=click.Choice(["docker", "hollow"]), default="docker", show_default=True,
              help="Container runtime of the kubelets: the Docker Engine, or hollow (fake) nodes.")
@click.option("--log-level", default="INFO", show_default=True)
def serve(service: str, nodes: tuple[str, ...], count: int, node_prefix: str, runtime: str,
          log_level: str) -> None:
    """Run a Kafkube service in this process (`all`: the control plane and any --node kubelets)."""
    nodes += tuple(f"{node_prefix}{i:04d}" for i in range(count))
    if service == "kubelet" and not nodes:
        raise click.UsageError("kubelet needs --node NAME or --nodes COUNT")
    settings = Settings.from_env()
    configure_logging(service=service, level=log_level, instance=settings.instance)
    apiserver = ApiServerOptions.from_env()
    if service == "all" and not settings.token_auth_file:
        settings = _own_credentials(settings, nodes)
        apiserver = apiserver.with_credentials_of(_state_dir())
    gcpolicy.install()
    sys.exit(asyncio.run(_serve(service, settings, KubeletOptions(nodes, runtime), apiserver)))
