"""`kafkube serve SERVICE`: run one service (or `all`) as this process."""

from __future__ import annotations

import asyncio
import sys

import click

from services.api.service import api_components
from services.runtime.bus import ensure_topics, wait_for_kafka
from services.runtime.config import Settings
from services.runtime.errors import KafkaUnavailable, TopicMisconfigured
from services.runtime.logging import configure_logging, get_logger
from services.runtime.supervisor import Component, supervise
from services.runtime.topics import Topics

SERVICES = ("api", "all")


def components_for(service: str, settings: Settings) -> dict[str, Component]:
    if service in ("api", "all"):
        return api_components(settings)
    raise click.BadParameter(f"unknown service {service!r}; choose from {', '.join(SERVICES)}")


async def _serve(service: str, settings: Settings) -> int:
    log = get_logger("kafkube.serve")
    try:
        await wait_for_kafka(settings)
        await ensure_topics(settings, Topics(settings.topic_prefix).specs())
    except (KafkaUnavailable, TopicMisconfigured) as exc:
        log.error("serve.cannot_start", error=str(exc))
        click.echo(f"error: {exc}", err=True)
        return 1
    log.info("serve.started", bootstrap=settings.bootstrap_servers, prefix=settings.topic_prefix)
    return await supervise(components_for(service, settings))


@click.command()
@click.argument("service", type=click.Choice(SERVICES))
@click.option("--log-level", default="INFO", show_default=True)
def serve(service: str, log_level: str) -> None:
    """Run a Kafkube service in this process (`all`: the whole control plane)."""
    settings = Settings.from_env()
    configure_logging(service=service, level=log_level, instance=settings.instance)
    sys.exit(asyncio.run(_serve(service, settings)))
