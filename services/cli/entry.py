"""The `kafkube` executable. `kafkube serve SERVICE` imports only what the service it
runs needs, not the whole CLI (tables, YAML, the HTTP client, credentials): a service
process is 12–20 MiB smaller (docs/benchmarks.md, section 5). Every other command is the full
CLI of `services/cli/main.py`."""

from __future__ import annotations

import sys


def kafkube() -> None:
    if sys.argv[1:2] == ["serve"]:
        from services.cli.serve import serve

        serve(args=sys.argv[2:], prog_name="kafkube serve")
        return
    from services.cli.main import cli

    cli()
