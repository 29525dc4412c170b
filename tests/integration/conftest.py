"""Fixtures for tests against the real broker: per-test topics and service processes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from services.runtime.bus import ensure_topics
from services.runtime.config import Settings
from services.runtime.topics import Topics
from tests.integration.kafkit import ServiceProcess, admin_token


@pytest.fixture
async def settings(kafka_bootstrap: str, topic_prefix: str) -> AsyncIterator[Settings]:
    """Settings for one test: its own topics (3 partitions each), deleted afterwards."""
    s = Settings(bootstrap_servers=kafka_bootstrap, topic_prefix=topic_prefix, partitions=3,
                 connect_timeout_s=20, instance="pytest", token=admin_token())
    specs = Topics(topic_prefix).specs()
    await ensure_topics(s, specs)
    yield s
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([spec.name for spec in specs])
    finally:
        await admin.close()


@pytest.fixture
def services(settings: Settings, tmp_path: Path) -> Iterator[Callable[..., ServiceProcess]]:
    """Start `kafkube serve NAME` processes; all are stopped (killed if they do not stop
    in time), and their logs printed (pytest shows them when the test fails), at the end
    of the test, before its topics are deleted."""
    started: list[ServiceProcess] = []

    def start(name: str, *args: str) -> ServiceProcess:
        process = ServiceProcess(settings, name, tmp_path, *args).start()
        started.append(process)
        return process

    yield start
    errors: list[BaseException] = []
    for process in started:  # every one, even if stopping another failed
        try:
            process.stop()  # SIGTERM, then SIGKILL to its process group
        except Exception as exc:
            errors.append(exc)
        print(f"----- logs of {process.name} ({process.log_path}) -----")
        print(process.logs()[-20000:])
    if errors:
        raise errors[0]
