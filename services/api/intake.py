"""The manifest intake: `kafkube.manifests` in, keyed write requests (and
Rejected answers) out, in one transaction with the consumed offsets.

It authenticates each record's `kafkube.token` (an unknown token is answered
Unauthorized and audited; nothing of the record is read) and hands the token on with
every request it makes, so the request writer authorises the author, not the intake.
A Secret's values are opened from their manifest sealing and encrypted for storage here
(services/api/secret_storage.py), so `kafkube.requests` never holds them in clear."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import orjson

from schemas.auth import TOKEN_HEADER
from schemas.records import REQUEST_ID_HEADER, SourceRef, header_value
from services.api.audit import refused_manifest
from services.api.authn import Authenticator
from services.api.secret_storage import SecretStorage
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

    def __init__(self, settings: Settings, topics: Topics, authenticator: Authenticator,
                 secrets: SecretStorage | None = None) -> None:
        self._settings = settings
        self._topics = topics
        self._authn = authenticator
        self._secrets = secrets  # Secret values opened from the manifest, encrypted before `requests`

    async def start(self) -> None:
        return None

    async def process(self, records: Sequence[Any]) -> list[Out]:
        out: list[Out] = []
        now = datetime.now(timezone.utc)
        for record in records:
            out += self._one(record, now)
        return out

    def _one(self, record: Any, now: datetime) -> list[Out]:
        headers = tuple(record.headers or ())
        manifest = ManifestRecord(record.topic, record.partition, record.offset, record.value, headers)
        user = self._authn.of_record(headers)
        result = translate(manifest, instance=self._settings.instance, now=now, user=user, secrets=self._secrets)
        if result.failure:
            log.error("manifest.internal_error", topic=record.topic, partition=record.partition,
                      offset=record.offset, traceback=result.failure)
        token = [(k, v) for k, v in headers if k == TOKEN_HEADER]
        out = [Out(self._topics.requests, r.key, encode(r), headers=tuple(token)) for r in result.requests]
        out += [Out(self._topics.events, event_key(e["involvedObject"]), orjson.dumps(e))
                for e in result.rejections]
        if user is None:
            source = SourceRef(topic=record.topic, partition=record.partition, offset=record.offset)
            audit = refused_manifest(request_id=header_value(headers, REQUEST_ID_HEADER) or "", user=None,
                                     source=source, reason="the token is not known")
            out.append(Out(self._topics.audit, None, encode(audit)))
        if result.rejections:
            log.info("manifest.rejected", offset=record.offset, partition=record.partition,
                     count=len(result.rejections))
        return out

    def committed(self) -> None:
        return None

    def discard(self) -> None:
        return None
