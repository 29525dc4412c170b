"""Kubernetes resource quantities (``250m``, ``64Mi``, ``1e3``, ``2``).

Used by the pod/node models (``resources.requests``, ``status.capacity``), by the
scheduler (fit checks) and by the kubelet (Docker limits). ``Quantity`` validates like
``resource.Quantity`` but keeps the user's original spelling, so a manifest round-trips.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

QUANTITY_PATTERN = r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
ERR_FORMAT = f"quantities must match the regular expression '{QUANTITY_PATTERN}'"
ERR_SUFFIX = "unable to parse quantity's suffix"
ERR_NUMERIC = "unable to parse numeric part of quantity"

# Always `fullmatch`: Python's `$` also matches before a trailing newline, Go's does not
# (so "64Mi\n" would pass here and be refused by Kubernetes).
_RE = re.compile(QUANTITY_PATTERN)
_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_EXPONENT = re.compile(r"[eE][-+]?[0-9]+")
_MAX_EXPONENT = 64


def _multiplier(suffix: str) -> Decimal:
    if suffix in _BINARY:
        return Decimal(1024) ** _BINARY[suffix]
    if suffix in _DECIMAL:
        return Decimal(10) ** _DECIMAL[suffix]
    if _EXPONENT.fullmatch(suffix):
        exponent = int(suffix[1:])
        if abs(exponent) > _MAX_EXPONENT:
            raise ValueError(ERR_SUFFIX)
        return Decimal(10) ** exponent
    raise ValueError(ERR_SUFFIX)


def _as_text(value: object) -> str:
    if type(value) is str:
        return value
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ValueError(ERR_FORMAT)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(ERR_FORMAT)
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def parse_quantity(value: str | int | float) -> Decimal:
    """Parse a Kubernetes quantity into an exact Decimal (``"250m"`` -> ``0.25``)."""
    return _parse_text(_as_text(value))


@lru_cache(maxsize=4096)
def _parse_text(text: str) -> Decimal:
    """Every pod of a workload repeats its few quantities: each is parsed once (a
    Decimal is immutable, so the cached value is safe to share; refusals are not cached)."""
    match = _RE.fullmatch(text)
    if match is None:
        raise ValueError(ERR_FORMAT)
    number, suffix = match.groups()
    if number.lstrip("+-") in ("", "."):
        raise ValueError(ERR_NUMERIC)
    try:
        amount = Decimal(number)
    except InvalidOperation:
        raise ValueError(ERR_NUMERIC) from None
    return amount * _multiplier(suffix)


def _validate(value: object) -> str:
    text = _as_text(value)
    _parse_text(text)
    return text


Quantity = Annotated[
    str,
    BeforeValidator(_validate),
    PlainSerializer(lambda v: v, return_type=str),
]
"""A validated quantity that keeps (and serialises as) the user's original string."""


def cpu_millis(quantity: str | int | float | Decimal) -> int:
    """CPU in millicores, rounded up like Kubernetes (``"0.5"`` -> 500, ``"1m"`` -> 1)."""
    amount = quantity if isinstance(quantity, Decimal) else parse_quantity(quantity)
    return math.ceil(amount * 1000)


def memory_bytes(quantity: str | int | float | Decimal) -> int:
    """Memory (or any byte quantity) in bytes, rounded up (``"64Mi"`` -> 67108864)."""
    amount = quantity if isinstance(quantity, Decimal) else parse_quantity(quantity)
    return math.ceil(amount)
