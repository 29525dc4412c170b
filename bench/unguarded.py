"""`kafkube serve api` without its security checks, for `bench.throughput
--without-security` only: no Pod Security, no authorisation (RBAC, NodeRestriction,
escalation), no audit record, no signature on desired records, no ServiceAccount index
(bench/api_writer.py `without_security`, plus these two). Authentication stays (a
SHA-256 and a dict lookup per request). A measurement aid: the API has no such mode.

    python -m bench.unguarded serve api [...]
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from bench.api_writer import without_security
from services.api.sa_index import ServiceAccountIndex
from services.api.writer import RequestPartition
from services.cli.main import cli
from services.runtime.transactional import Out


def unguarded() -> None:
    without_security()
    decided = RequestPartition.process

    async def process(self: RequestPartition, records: Sequence[Any]) -> list[Out]:
        return [o for o in await decided(self, records) if o.topic != self._topics.audit]

    async def enter(self: ServiceAccountIndex) -> ServiceAccountIndex:
        return self

    async def leave(self: ServiceAccountIndex, *exc: object) -> None:
        return None

    setattr(RequestPartition, "process", process)
    setattr(ServiceAccountIndex, "__aenter__", enter)
    setattr(ServiceAccountIndex, "__aexit__", leave)


if __name__ == "__main__":
    unguarded()
    cli(sys.argv[1:])
