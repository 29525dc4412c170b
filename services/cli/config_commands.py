"""`kafkube config`: view and switch the contexts of the CLI's config file, as
`kubectl config` does (view, current-context, get-contexts, use-context), and `kubeconfig`
(services.cli.kubeconfig: a kubeconfig for kubectl against `kafkube serve apiserver`)."""

from __future__ import annotations

import sys

import click

from services.cli.config import ConfigError, KafkubeConfig, config_path, load_config, save_config
from services.cli.kubeconfig import kubeconfig_command


def _load() -> KafkubeConfig:
    path = config_path()
    try:
        config = load_config(path)
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if config is None:
        click.echo(f"error: no config file at {path} (set KAFKUBE_CONFIG, or run `make up`)", err=True)
        sys.exit(1)
    return config


@click.group("config")
def config() -> None:
    """View and switch contexts of the CLI config (KAFKUBE_CONFIG, ~/.kafkube/config)."""


config.add_command(kubeconfig_command)


@config.command("view")
@click.option("--raw", is_flag=True, help="Show tokens instead of REDACTED.")
def view(raw: bool) -> None:
    """Print the config, tokens redacted."""
    click.echo(_load().dump(redact=not raw), nl=False)


@config.command("current-context")
def current_context() -> None:
    """Print the name of the context in use."""
    name = _load().current_context
    if not name:
        click.echo("error: current-context is not set", err=True)
        sys.exit(1)
    click.echo(name)


@config.command("get-contexts")
def get_contexts() -> None:
    """List the contexts; the current one is starred."""
    cfg = _load()
    rows = [("CURRENT", "NAME", "CLUSTER", "AUTHINFO")]
    rows += [("*" if c.name == cfg.current_context else "", c.name, c.context.cluster, c.context.user)
             for c in cfg.contexts]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        click.echo("   ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


@config.command("use-context")
@click.argument("name")
def use_context(name: str) -> None:
    """Make NAME the current context."""
    cfg = _load()
    if not any(c.name == name for c in cfg.contexts):
        click.echo(f'error: no context exists with the name: "{name}"', err=True)
        sys.exit(1)
    save_config(config_path(), cfg.model_copy(update={"current_context": name}))
    click.echo(f'Switched to context "{name}".')
