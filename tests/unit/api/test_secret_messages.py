"""No answer of the API echoes a Secret's value: a poisoned Secret (bad base64, bad key,
over the limit, wrong types, a number beyond 64 bits, a malformed request) is refused
naming the field and the problem, with upstream's "<secret contents redacted>" for the
value; neither the Rejected event nor the audit record holds the value."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson
import pytest
from hypothesis import given, strategies as st

from schemas.checks_data import base64_problem
from schemas.manifest import split_documents, validate_object
from schemas.records import Op, WriteRequest
from schemas.secret_fields import LAST_APPLIED
from schemas.validation import ManifestInvalid
from services.api.translate import ManifestRecord, translate
from tests.unit.api.test_poison import ALICE, NOW, write

CANARY = "hunter2-CANARY-d4ta!"
ENCODED = base64.b64encode(CANARY.encode()).decode()
REDACTED = '"<secret contents redacted>"'


def secret(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "default"}, **fields}


def leaks(text: str | bytes) -> bool:
    raw = text if isinstance(text, bytes) else text.encode()
    return any(v.encode() in raw for v in (CANARY, ENCODED, CANARY[:12], ENCODED[:12]))


def message_of(doc: dict[str, Any]) -> str:
    with pytest.raises(ManifestInvalid) as caught:
        validate_object(doc)
    return str(caught.value)


@pytest.mark.parametrize(("doc", "expected"), [
    (secret(data={"password": CANARY}),
     f'Secret "db" is invalid: data[password]: Invalid value: {REDACTED}: illegal base64 data at input byte 7'),
    (secret(data={"bad key": ENCODED}),
     'Secret "db" is invalid: data[bad key]: Invalid value: "bad key": a valid config key must consist'),
    (secret(stringData={"big": CANARY * 60_000}),
     'Secret "db" is invalid: data: Too long: may not be more than 1048576 bytes'),
    (secret(data={"password": 12345}),
     f'Secret "db" is invalid: data[password]: Invalid value: {REDACTED}: must be a string'),
    (secret(data=[CANARY]), f'Secret "db" is invalid: data: Invalid value: {REDACTED}: must be an object'),
    (secret(data=CANARY), f'Secret "db" is invalid: data: Invalid value: {REDACTED}: must be an object'),
    (secret(stringData={"token": {"nested": CANARY}}),
     f'Secret "db" is invalid: stringData[token]: Invalid value: {REDACTED}: must be a string'),
    (secret(metadata={"name": "db", "annotations": {LAST_APPLIED: {"data": {"password": ENCODED}}}}),
     f'Secret "db" is invalid: metadata.annotations[{LAST_APPLIED}]: Invalid value: {REDACTED}: must be a string'),
])
def test_a_poisoned_secret_is_refused_by_field_and_problem_without_its_value(doc: dict[str, Any],
                                                                             expected: str) -> None:
    message = message_of(doc)
    assert message.startswith(expected) and not leaks(message), message


def test_the_size_limit_counts_decoded_bytes_with_string_data_merged_in() -> None:
    exactly = base64.b64encode(b"x" * (1024 * 1024 - 1)).decode()
    validate_object(secret(data={"a": exactly}, stringData={"b": "y"}))
    validate_object(secret(data={"a": exactly}, stringData={"a": "yy"}))  # stringData replaces data's a
    assert "Too long" in message_of(secret(data={"a": exactly}, stringData={"b": "yy"}))


def test_a_number_beyond_64_bits_in_a_secrets_data_is_not_echoed() -> None:
    huge = 10**30 + 4242424242
    (result,) = split_documents(f"apiVersion: v1\nkind: Secret\nmetadata: {{name: db}}\ndata: {{a: {huge}}}\n".encode())
    assert result.error == f'data.a: Invalid value: {REDACTED}: must be a 64-bit integer'
    (other,) = split_documents(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\ndata: {{a: {huge}}}\n".encode())
    assert str(huge) in (other.error or "")  # elsewhere the number is shown, as before


@pytest.mark.parametrize(("text", "offset"), [
    ("YWJj", None), ("", None), ("YQ==", None), ("YWI=", None), ("YWJ", 0), ("YWJjZA", 4), ("YQ=", 3),
    ("YQ=x", 2), ("Y===", 1), ("=AAA", 0), ("YWJj!", 4), ("YQ==YQ==", 4), ("YWJj\nYWJj", 4), ("éYWJ", 0), ("YW\ud800", 2),
])
def test_base64_problems_are_named_by_gos_byte_offset(text: str, offset: int | None) -> None:
    expected = None if offset is None else f"illegal base64 data at input byte {offset}"
    assert base64_problem(text) == expected


@given(st.text(alphabet="AQYWJjz09+/=!\n é", max_size=12))
def test_what_base64_problem_admits_every_reader_of_stored_data_decodes(text: str) -> None:
    """Go is the stricter: Python's strict decoder also takes `0000=` (padding after a
    whole quantum), which upstream refuses, and so does Kafkube."""
    if base64_problem(text) is None:
        binascii.a2b_base64(text.encode(), strict_mode=True)
        base64.b64decode(text, validate=True)
    assert base64_problem("0000=") == "illegal base64 data at input byte 4"


def test_the_intakes_rejected_answer_holds_no_value() -> None:
    manifest = orjson.dumps(secret(data={"password": CANARY, "bad key": ENCODED}))
    out = translate(ManifestRecord("kafkube.manifests", 0, 7, manifest), instance="t", now=NOW, user=ALICE)
    (event,) = out.rejections
    assert out.requests == [] and "data[password]" in event["message"] and "data[bad key]" in event["message"]
    assert not leaks(orjson.dumps(event))


def secret_request(body: dict[str, Any], op: Op = Op.APPLY) -> WriteRequest:
    return WriteRequest(op=op, apiVersion="v1", kind="Secret", namespace="default", name="db", body=body)


@pytest.mark.parametrize("poison", [
    secret_request(secret(data={"password": CANARY})),
    secret_request(secret(data={"password": ENCODED, "bad key": ENCODED})),
    secret_request(secret(stringData={"big": CANARY * 60_000})),
    secret_request(secret(data={"password": [CANARY]})),
    b'{"op":"apply","apiVersion":"v1","kind":"Secret","name":"db","namespace":"default","body":["' +
    CANARY.encode() + b'"]}',
    b'{"op":"apply","apiVersion":"v1","kind":"Secret","name":"db","body":{"data":{"password":"' + ENCODED.encode(),
])
def test_the_writers_answer_and_audit_record_hold_no_value(poison: WriteRequest | bytes) -> None:
    out, _ = write(poison, key="default/db")
    answers = [orjson.loads(o.value) for o in out if o.value and o.topic.endswith("events")]
    assert [a["reason"] for a in answers] == ["Rejected"]
    assert all(not leaks(o.value or b"") for o in out), [o.value for o in out]
