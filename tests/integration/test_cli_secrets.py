"""A Secret's values on the real broker: applied, changed and poisoned with distinctive
values, they appear in no output of `describe`, `history`, `history --revision`,
`events` or `apply`'s refusal, nor on the audit topic; `get -o yaml` alone shows them."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, Callable

import orjson
import pytest
import yaml

from schemas.secret_fields import LAST_APPLIED
from services.runtime.config import Settings
from services.runtime.topics import Topics
from tests.integration.kafkit import ServiceProcess, cli, read_all

pytestmark = pytest.mark.kafka
FIRST, SECOND, POISON = "canary-first-7Qx", "canary-second-9Zw", "canary-poison-3Kd!"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def manifest(password: str) -> str:
    """A Secret as kubectl's client-side apply stores it: its values in an annotation too."""
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                            "metadata": {"name": "db", "namespace": "default"},
                            "data": {"username": b64("admin")}, "stringData": {"password": password}}
    applied = orjson.dumps(body).decode()
    body["metadata"]["annotations"] = {LAST_APPLIED: applied, "team": "payments"}
    return yaml.safe_dump(body)


def leaked(text: str | bytes) -> list[str]:
    raw = text.encode() if isinstance(text, str) else text
    values = [FIRST, SECOND, POISON.rstrip("!"), b64(FIRST), b64(SECOND)]
    return [v for v in values if v.encode() in raw]


@pytest.fixture
def api(services: Callable[..., ServiceProcess]) -> ServiceProcess:
    return services("api")


async def test_no_command_but_get_prints_a_secrets_values(settings: Settings, api: ServiceProcess,
                                                         tmp_path: Path) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text(manifest(FIRST))
    assert cli(settings, "apply", "-f", str(path)).stdout.strip() == "secret/db created"
    path.write_text(manifest(SECOND))
    assert cli(settings, "apply", "-f", str(path)).stdout.strip() == "secret/db configured"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "bad"},
                                    "data": {"token": POISON}}))
    refused = cli(settings, "apply", "-f", str(path))
    assert refused.returncode == 1
    assert 'data[token]: Invalid value: "<secret contents redacted>": illegal base64 data' in refused.stderr

    described = cli(settings, "describe", "secret", "db")
    assert described.stdout.endswith("Data\n====\npassword:  17 bytes\nusername:  5 bytes\n\n"), described.stdout
    assert "Annotations:  team: payments\n" in described.stdout
    history = cli(settings, "history", "secret", "db")
    rows = [line.split(None, 5) for line in history.stdout.splitlines()]
    assert [r[2] for r in rows[1:]] == ["Created", "Updated"] and "data.password: changed" in rows[2][5], rows
    revision = cli(settings, "history", "secret", "db", "--revision", rows[1][0])
    assert yaml.safe_load(revision.stdout)["data"]["password"] == "<redacted: 16 bytes>"
    events = cli(settings, "events")
    assert "Rejected" in events.stdout

    outputs = [refused, described, history, revision, events]
    assert [leaked(o.stdout + o.stderr) for o in outputs] == [[]] * len(outputs)
    audit = await read_all(settings, Topics(settings.topic_prefix).audit)
    assert audit and [leaked(r.value or b"") for r in audit if leaked(r.value or b"")] == []

    shown = yaml.safe_load(cli(settings, "get", "secret", "db", "-o", "yaml").stdout)
    assert base64.b64decode(shown["data"]["password"]).decode() == SECOND  # the one command that shows it
