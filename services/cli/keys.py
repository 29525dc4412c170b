"""`kafkube keys init DIR [--node NAME ...]`: a cluster's record-signing key files
(services/runtime/signing.py). `control-plane.json` holds the desired-record key and
the observed master key (API, scheduler, controllers, endpoints, proxy, a hollow
fleet); `node-<name>.json` holds the desired keys (to verify) and the node's own
writer key (to sign its pod and node statuses as `system:node:<name>`, and nothing
else). Files are 0600 in a 0700 directory. An existing `control-plane.json` is kept,
so running it again with more `--node`s adds nodes to the same cluster."""

from __future__ import annotations

import os
from pathlib import Path

import click

from services.runtime.signing import KeyRing
from services.runtime.trust import node_identity

CONTROL_PLANE = "control-plane.json"


def node_file(directory: Path, node: str) -> Path:
    return directory / f"node-{node}.json"


def init_keys(directory: Path, nodes: tuple[str, ...] = ()) -> list[Path]:
    """Write (or keep) the control-plane ring and one file per node; the paths written."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    control = directory / CONTROL_PLANE
    written: list[Path] = []
    if control.exists():
        ring = KeyRing.load(control)
    else:
        ring = KeyRing.generate()
        ring.save(control)
        written.append(control)
    for node in nodes:
        path = node_file(directory, node)
        ring.for_writer(node_identity(node)).save(path)
        written.append(path)
    return written


@click.group()
def keys() -> None:
    """Record-signing keys of a cluster (KAFKUBE_BUS_KEYS_FILE)."""


@keys.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--node", "nodes", multiple=True, help="Write node-NAME.json for this node (repeatable).")
def init(directory: Path, nodes: tuple[str, ...]) -> None:
    """Generate DIR/control-plane.json (kept if present) and DIR/node-NAME.json per --node."""
    for node in nodes:
        if not node or os.sep in node or node.startswith("."):
            raise click.BadParameter(f"not a node name: {node!r}", param_hint="--node")
    for path in init_keys(directory, nodes):
        click.echo(f"wrote {path}")
    click.echo(f"control plane: KAFKUBE_BUS_KEYS_FILE={directory / CONTROL_PLANE}")
    click.echo(f"kubelet NAME:  KAFKUBE_BUS_KEYS_FILE={directory}/node-NAME.json")
