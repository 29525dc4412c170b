"""The manifest intake: `kafkube.manifests` in, keyed write requests (and
Rejected answers) out, in one transaction with the consumed offsets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import orjson

from services.api.translate import ManifestRecord, translate
from services.runtime.bus import encode
from services.runtime.config import Settings
from services.runtime.events import event_key
from services.runtime.logging import get_logger
from services.runtime.topics import Topics
from services.runtime.transactional import Out

log = get_logger(__name__)


class ManifestPartition:
    """Stateless: every batch maps to requests and rejections."""

    def __init__(self, settings: Settings, topics: Topics) -> None:
        self._settings = settings
        self._topics = topics

    async def start(self) -> None:
        return None

    async def process(self, records: Sequence[Any]) -> list[Out]:
        out: list[Out] = []
        now = datetime.now(timezone.utc)
        for record in records:
            manifest = ManifestRecord(record.topic, record.partition, record.offset,
                                      record.value, tuple(record.headers or ()))
            result = translate(manifest, instance=self._settings.instance, now=now)
            if result.failure:
                log.error("manifest.internal_error", topic=record.topic, partition=record.partition,
                          offset=record.offset, traceback=result.failure)
            out += [Out(self._topics.requests, r.key, encode(r)) for r in result.requests]
            out += [Out(self._topics.events, event_key(e["involvedObject"]), orjson.dumps(e))
                    for e in result.rejections]
            if result.rejections:
                log.info("manifest.rejected", offset=record.offset, partition=record.partition,
                         count=len(result.rejections))
        return out

    def committed(self) -> None:
        return None

    def discard(self) -> None:
        return None
