"""The data maps of ConfigMaps and Secrets: keys, base64 values and the size limit.

Used by ``schemas.checks`` (``check_config_map``, and ``check_secret`` here, in
``KIND_CHECKS``). A Secret's values never appear in a message: a bad one is shown as
upstream's ``"<secret contents redacted>"``, and the base64 problem is named by its byte
offset only (Go's ``illegal base64 data at input byte N``), never by the character found.
"""

from __future__ import annotations

import base64
import binascii

from schemas.core import Secret
from schemas.secret_fields import REDACTED
from schemas.validation import FieldError, is_config_map_key

DATA_MAX_BYTES = 1024 * 1024  # core.MaxSecretSize, also the ConfigMap limit
_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_PAD = ord("=")


def check_data_keys(field: str, data: dict[str, str] | None) -> list[FieldError]:
    """Each key of a data map must be a config key (the key itself is shown, as upstream)."""
    errs: list[FieldError] = []
    for key in data or {}:
        errs += [FieldError(f"{field}[{key}]", "Invalid", key, m) for m in is_config_map_key(key)]
    return errs


def base64_problem(text: str) -> str | None:
    """Why ``text`` is not standard padded base64, in Go's words; None when it decodes."""
    offset = _corrupt_offset(text.encode("utf-8", "surrogatepass"))
    return None if offset is None else f"illegal base64 data at input byte {offset}"


def _corrupt_offset(raw: bytes) -> int | None:
    """Where Go's ``base64.StdEncoding`` gives up on ``raw`` (None: it decodes), one
    quantum of four characters at a time. Unlike Go, line breaks are not skipped: every
    reader of stored data decodes it strictly."""
    si = 0
    while si < len(raw):
        for j in range(4):
            if si == len(raw):
                return si - j  # an incomplete quantum, without its padding
            char, si = raw[si], si + 1
            if char in _ALPHABET:
                continue
            if char != _PAD or j < 2:
                return si - 1  # not base64, or padding too early
            if j == 2:  # "==" expected: the first is read
                if si == len(raw):
                    return si
                if raw[si] != _PAD:
                    return si - 1
                si += 1
            return si if si < len(raw) else None  # anything after the padding is garbage
    return None


def check_base64(field: str, data: dict[str, str] | None, shown: object) -> list[FieldError]:
    """Each value must be base64; ``shown`` stands for the value in the message."""
    errs: list[FieldError] = []
    for key, value in (data or {}).items():
        if problem := base64_problem(value):
            errs.append(FieldError(f"{field}[{key}]", "Invalid", shown, problem))
    return errs


def decoded_size(value: str) -> int:
    """Bytes of a base64 value once decoded (0 when it does not decode: reported apart)."""
    try:
        return len(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        return 0


def check_secret(secret: Secret) -> list[FieldError]:
    """Upstream's ``ValidateSecret`` data rules: config keys, base64 values, and at most
    1 MiB of decoded data once ``stringData`` is merged in (as the API stores it)."""
    errs = check_data_keys("data", secret.data) + check_data_keys("stringData", secret.string_data)
    errs += check_base64("data", secret.data, REDACTED)
    sizes = {k: decoded_size(v) for k, v in (secret.data or {}).items()}
    sizes |= {k: len(v.encode("utf-8", "surrogatepass")) for k, v in (secret.string_data or {}).items()}
    if sum(sizes.values()) > DATA_MAX_BYTES:
        errs.append(FieldError("data", "TooLong", detail=f"may not be more than {DATA_MAX_BYTES} bytes"))
    return errs
