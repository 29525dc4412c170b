"""`kafkube top nodes` and `kafkube top pods`: the latest current samples the kubelets
published on `kafkube.metrics` (`services.runtime.metrics_feed`, read once), in kubectl's
columns (`services.cli.top_table`); nodes' percentages are of their allocatable."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import click

from schemas.printing import objects
from services.cli.client import Client
from services.cli.config import cli_settings
from services.cli.printers import table
from services.cli.top_table import NODE_HEADERS, node_rows, pod_table
from services.runtime.config import Settings
from services.runtime.metrics_feed import LatestMetrics, MetricsFeed


async def _latest(settings: Settings) -> LatestMetrics:
    async with MetricsFeed(settings, follow=False) as feed:
        return feed.latest


@click.group()
def top() -> None:
    """Display resource (CPU/memory) usage of nodes or pods."""


@top.command("nodes")
def top_nodes() -> None:
    """Every node's CPU and memory usage, and its share of the node's allocatable."""
    settings = cli_settings(connect_timeout_s=10)

    async def run() -> tuple[LatestMetrics, dict[str, dict[str, str]]]:
        desired, observed = await Client(settings).snapshot("nodes")
        allocatable = {(o.get("metadata") or {}).get("name", ""): (o.get("status") or {}).get("allocatable") or {}
                       for o in objects(desired, observed).values()}
        return await _latest(settings), allocatable

    latest, allocatable = asyncio.run(run())
    metrics = latest.nodes(datetime.now(timezone.utc))
    if not metrics:
        raise click.ClickException("metrics not available yet")
    click.echo(table(NODE_HEADERS, node_rows(metrics, allocatable)))


@top.command("pods")
@click.option("-n", "--namespace", default="default")
@click.option("-A", "--all-namespaces", is_flag=True)
@click.option("--containers", is_flag=True, help="Print usage of the containers within a pod.")
def top_pods(namespace: str, all_namespaces: bool, containers: bool) -> None:
    """The pods' CPU and memory usage (their containers' summed)."""
    latest = asyncio.run(_latest(cli_settings(connect_timeout_s=10)))
    metrics = latest.pods(datetime.now(timezone.utc), "" if all_namespaces else namespace)
    if not metrics:
        click.echo("No resources found" + ("" if all_namespaces else f" in {namespace} namespace") + ".", err=True)
        return
    headers, rows = pod_table(metrics, containers=containers, namespaces=all_namespaces)
    click.echo(table(headers, rows))
