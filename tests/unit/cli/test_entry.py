"""The `kafkube` executable: `serve` runs without the rest of the CLI; every other
command is the full CLI."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
sys.argv = ["kafkube", *sys.argv[1:]]
from services.cli.entry import kafkube
try:
    kafkube()
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "loaded": sorted(m for m in (
    "services.cli.main", "services.cli.client", "services.cli.credentials", "services.runtime.metrics_http",
    "aiohttp", "cryptography") if m in sys.modules)}))
"""


def run(*args: str) -> tuple[dict[str, object], str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60)
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stdout + done.stderr


def test_serve_imports_neither_the_cli_nor_the_web_server_nor_the_credentials_writer() -> None:
    result, output = run("serve", "--help")
    assert result == {"code": 0, "loaded": []}
    assert "Usage: kafkube serve [OPTIONS] {api|" in output


def test_serve_refuses_an_unknown_service_as_click_does() -> None:
    result, output = run("serve", "bogus")
    assert result["code"] == 2
    assert "'bogus' is not one of 'api'" in output


def test_every_other_command_is_the_full_cli() -> None:
    result, output = run("--help")
    assert result["code"] == 0 and "services.cli.main" in result["loaded"]  # type: ignore[operator]
    for command in ("apply", "get", "serve", "rollout", "top"):
        assert f"  {command} " in output
