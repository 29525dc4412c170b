"""Kubernetes quantities: parsing table, errors, the Quantity type and helpers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import TypeAdapter, ValidationError

from schemas.quantity import ERR_FORMAT, Quantity, cpu_millis, memory_bytes, parse_quantity

ADAPTER = TypeAdapter(Quantity)


@pytest.mark.parametrize("text, value", [
    ("0", "0"), ("2", "2"), (2, "2"), (0.5, "0.5"), ("0.5", "0.5"), (".5", "0.5"),
    ("250m", "0.25"), ("1m", "0.001"), ("100u", "0.0001"), ("5n", "0.000000005"),
    ("1k", "1000"), ("1M", "1000000"), ("1G", "1e9"), ("1T", "1e12"), ("1P", "1e15"),
    ("1E", "1e18"), ("1Ki", "1024"), ("64Mi", str(64 * 2**20)), ("1Gi", str(2**30)),
    ("1.5Gi", str(3 * 2**29)), ("1Ti", str(2**40)), ("1Pi", str(2**50)), ("1Ei", str(2**60)),
    ("1e3", "1000"), ("1E3", "1000"), ("12e-3", "0.012"), ("+1", "1"), ("-1", "-1"),
    ("1.", "1"),
])
def test_parse_table(text, value):
    assert parse_quantity(text) == Decimal(value)


@pytest.mark.parametrize("junk, message", [
    ("", ERR_FORMAT), ("abc", ERR_FORMAT), ("1Gb", ERR_FORMAT), ("1 Gi", ERR_FORMAT),
    ("Gi", ERR_FORMAT), ("1Kii", "unable to parse quantity's suffix"),
    ("1K", "unable to parse quantity's suffix"), ("1.2.3", "unable to parse numeric part"),
    (".", "unable to parse numeric part"), (True, ERR_FORMAT), (float("nan"), ERR_FORMAT),
    (None, ERR_FORMAT), ([1], ERR_FORMAT), ("1e999", "unable to parse quantity's suffix"),
])
def test_junk_is_rejected_with_kubernetes_message(junk, message):
    with pytest.raises(ValueError) as info:
        parse_quantity(junk)
    assert str(info.value).startswith(message)


def test_regex_message_is_kubernetes_own():
    assert ERR_FORMAT == ("quantities must match the regular expression "
                          "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")


def test_quantity_type_keeps_original_spelling():
    assert ADAPTER.validate_python("64Mi") == "64Mi"
    assert ADAPTER.validate_python(2) == "2"
    assert ADAPTER.validate_python(0.5) == "0.5"
    assert ADAPTER.dump_python("250m", mode="json") == "250m"
    with pytest.raises(ValidationError, match="quantities must match"):
        ADAPTER.validate_python("lots")


@pytest.mark.parametrize("q, millis", [
    ("250m", 250), ("0.5", 500), (2, 2000), ("1", 1000), ("0.0001", 1), ("1500u", 2),
])
def test_cpu_millis_rounds_up(q, millis):
    assert cpu_millis(q) == millis


@pytest.mark.parametrize("q, size", [
    ("64Mi", 64 * 2**20), ("1Gi", 2**30), ("1G", 10**9), ("128974848", 128974848),
    ("129e6", 129 * 10**6), ("0.5Ki", 512), ("1.5", 2),
])
def test_memory_bytes(q, size):
    assert memory_bytes(q) == size
