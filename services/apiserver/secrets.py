"""Secret values through the HTTP API, never in clear on the bus, as the `kafkube` CLI
handles them (services/cli/secrets.py), on behalf of the HTTP caller (their token goes
with every request, so the API's RBAC on secrets decides, unchanged):

- **writes**: every value of a Secret's `data` and `stringData` is sealed for the API's
  manifest key (a `SealingKeyReview`, asked at each write so keys rotate;
  services/runtime/manifest_sealing.py) before its `WriteRequest` leaves; the API opens
  them, decides in clear and stores them encrypted. kubectl's last-applied annotation,
  which would copy the values in clear, is dropped. An API without an encryption
  configuration has no key: the values go as written, as they are stored.
- **patches** apply to the Secret in clear (`in_clear`), then the result is sealed;
- **reads** (GET, LIST, WATCH): each Secret stored encrypted is opened by a
  `SecretRequest` as the caller, answered sealed for a one-off X25519 key
  (services/runtime/secret_requests.py). A SecretRequest names one Secret (it is decided
  on that Secret's partition), so a list of N encrypted Secrets costs N round trips
  through the API, sent together (at most `CONCURRENT_READS` at a time).

No value, plain or sealed, is logged or put in an error. Used by `services.apiserver.writes`,
`reads` and `watch`."""

from __future__ import annotations

import asyncio
from typing import Any

from schemas.secret_fields import without_last_applied
from services.apiserver.answers import Requests
from services.apiserver.auth import Caller
from services.runtime.logging import get_logger
from services.runtime.manifest_sealing import seal_data, sealing_key_of, sealing_key_request
from services.runtime.sealing import Recipient
from services.runtime.secret_requests import SecretReadError, answer_data, secret_request
from services.runtime.secret_values import has_encrypted_data

log = get_logger(__name__)
Obj = dict[str, Any]
CONCURRENT_READS = 16
WRITER = "apiserver"


class SecretValuesError(Exception):
    """The values cannot be read or sealed: `reason` is the Status reason; the message names
    the Secret and the problem, never a value."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _name_of(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or "default"), str(meta.get("name") or "")


class SecretValues:
    """Seal a caller's Secret values for the API, and open stored ones for the caller."""

    def __init__(self, requests: Requests, *, timeout_s: float = 30.0) -> None:
        self._requests, self._timeout_s = requests, timeout_s
        self._reads = asyncio.Semaphore(CONCURRENT_READS)

    # -- writes ------------------------------------------------------------------------
    async def sealed(self, secret: Obj, caller: Caller) -> Obj:
        """The Secret as it may cross `kafkube.requests`: values sealed for the API."""
        secret = without_last_applied(secret)
        if not secret.get("data") and not secret.get("stringData"):
            return secret
        key = await self._sealing_key(caller)
        return secret if key is None else seal_data(secret, key, _name_of(secret)[0])

    async def _sealing_key(self, caller: Caller) -> str | None:
        answer = await self._requests.send(sealing_key_request(writer=WRITER, principal=caller.user.name),
                                           caller=caller, timeout_s=self._timeout_s)
        if answer is None:
            raise SecretValuesError("Timeout", "the API did not answer for its sealing key in time: Secret values "
                                    "are never sent in clear to an API that may encrypt them")
        if answer.status_reason == "NotFound":
            return None  # the API stores values as sent
        if answer.rejected:
            raise SecretValuesError(answer.status_reason or "InternalError",
                                    f"the API refused its sealing key: {answer.message}")
        return sealing_key_of(answer.event)

    # -- reads -------------------------------------------------------------------------
    async def in_clear(self, secret: Obj, caller: Caller) -> Obj:
        """The Secret with its stored values opened by the API for `caller`, or SecretValuesError."""
        if not has_encrypted_data(secret):
            return secret
        namespace, name = _name_of(secret)
        recipient = Recipient()
        request = secret_request(namespace, name, writer=WRITER, principal=caller.user.name, recipient=recipient)
        async with self._reads:
            answer = await self._requests.send(request, caller=caller, timeout_s=self._timeout_s)
        if answer is None:
            raise SecretValuesError("Timeout", f'secret "{name}": the API did not answer for its values in time')
        if answer.rejected:
            raise SecretValuesError(answer.status_reason or "InternalError", answer.message)
        try:
            return {**secret, "data": answer_data(answer.event, request, recipient=recipient)}
        except SecretReadError as exc:
            raise SecretValuesError("InternalError", str(exc)) from None

    async def shown(self, objs: list[Obj], caller: Caller) -> list[Obj]:
        """Secrets of a list or watch with their values; one that cannot be opened is shown
        without them (logged by name), so the others are still served."""
        return list(await asyncio.gather(*(self._shown(obj, caller) for obj in objs)))

    async def _shown(self, obj: Obj, caller: Caller) -> Obj:
        try:
            return await self.in_clear(obj, caller)
        except SecretValuesError as exc:
            namespace, name = _name_of(obj)
            if exc.reason != "NotFound":  # NotFound: deleted since (a watch's DELETED, a list's race)
                log.warning("apiserver.secret_not_opened", namespace=namespace, name=name, user=caller.user.name,
                            reason=exc.reason)
            return {k: v for k, v in obj.items() if k not in ("data", "stringData")}
