"""split_documents: YAML/JSON, errors per document, limits on size and nesting."""

from __future__ import annotations

import json

import pytest

from schemas import split_documents
from schemas.limits import MAX_DEPTH, MAX_DOCUMENTS, MAX_NODES, MAX_OUTPUT_BYTES, MAX_REQUEST_BYTES


def errors(payload: bytes) -> list[str | None]:
    return [r.error for r in split_documents(payload)]


def test_empty_and_comment_only_payloads_give_nothing():
    assert split_documents(b"") == []
    assert split_documents(b"---\n# nothing\n---\n\n...\n") == []


def test_bad_document_does_not_hide_the_others():
    payload = b"a: 1\n---\nkey: [unclosed\nnext: 2\n---\nb: 2\n"
    results = split_documents(payload)
    assert [r.doc for r in results] == [{"a": 1}, None, {"b": 2}]
    assert results[1].error == (
        "error converting YAML to JSON: yaml: line 4: did not find expected ',' or ']'")
    assert results[1].line == 3


def test_yaml_error_line_numbers():
    assert errors(b"apiVersion: v1\nkind: Pod\n  bad: indent\n") == [
        "error converting YAML to JSON: yaml: line 3: mapping values are not allowed in this context"]


def test_invalid_utf8_is_an_error():
    assert errors(b"a: \xff\xfe\n") == [
        "error converting YAML to JSON: yaml: invalid UTF-8 byte at offset 3"]


def test_non_mapping_documents_are_errors():
    assert errors(b"- a\n- b\n") == [
        "error unmarshaling JSON: a document must be an object, not array"]
    assert errors(b"just text\n") == [
        "error unmarshaling JSON: a document must be an object, not string"]
    assert errors(b"kind: List\nitems: [1, null]\n") == [
        "error unmarshaling JSON: a document must be an object, not number",
        "error unmarshaling JSON: a document must be an object, not null"]


def test_yaml_is_converted_to_json_types():
    (result,) = split_documents(b"on: yes\n2: x\nwhen: 2024-01-01T10:00:00Z\nbin: !!binary aGk=\n")
    assert result.doc == {"true": True, "2": "x", "when": "2024-01-01T10:00:00Z", "bin": "aGk="}
    assert errors(b"a: .nan\n") == ["error converting YAML to JSON: json: unsupported value: nan"]


def test_json_payload_and_bom():
    doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
    assert [r.doc for r in split_documents(b"\xef\xbb\xbf" + json.dumps(doc).encode())] == [doc]


def test_one_megabyte_document_parses():
    data = {f"key-{i}": "v" * 100 for i in range(10_000)}
    doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"}, "data": data}
    yaml_text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n" + "".join(
        f"  {k}: {v}\n" for k, v in data.items())
    assert len(yaml_text) > 1_000_000
    assert [r.doc for r in split_documents(yaml_text.encode())] == [doc]
    assert [r.doc for r in split_documents(json.dumps(doc).encode())] == [doc]


@pytest.mark.parametrize("payload", [
    b"a: " + b"[" * 100_000 + b"]" * 100_000,
    b"[" * 5000 + b"]" * 5000,
    b"a:\n" + b"".join(b" " * i + b"- \n" for i in range(1, 300)),
    b"- " * 2000 + b"x\n",
])
def test_deep_nesting_is_refused_cleanly(payload):
    (message,) = errors(payload)
    assert message is not None
    assert f"more than {MAX_DEPTH} levels" in message or "yaml:" in message


def test_alias_bomb_is_refused():
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        prev = chr(ord("a") + i - 1)
        name = chr(ord("a") + i)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    assert errors("\n".join(lines).encode()) == [f"document has more than {MAX_NODES} values"]


def test_oversized_payload_is_refused_in_kubernetes_words():
    (message,) = errors(b"a: " + b"x" * (MAX_REQUEST_BYTES + 1))
    assert message == "Request entity too large: limit is 3145728"


def test_a_payload_of_the_largest_size_still_parses():
    payload = b"a: " + b"x" * (MAX_REQUEST_BYTES - 10)
    (result,) = split_documents(payload)
    assert result.ok and len(result.doc["a"]) == MAX_REQUEST_BYTES - 10


def test_aliases_of_a_long_string_are_bounded_by_what_they_produce():
    """Few values, each a use of one 100 KB string: the count limit alone lets it through."""
    payload = ("s: &s " + "x" * 100_000 + "\nl: [" + ", ".join(["*s"] * 100) + "]\n").encode()
    (message,) = errors(payload)
    assert message == (f"document expands to more than {MAX_OUTPUT_BYTES} characters "
                       "(YAML aliases count at every use)")


def test_the_budget_is_shared_by_the_documents_of_a_record():
    one = "s: &s " + "x" * 100_000 + "\nl: [" + ", ".join(["*s"] * 30) + "]\n"
    assert errors(one.encode()) == [None]  # 3.1 MB: within the budget alone
    results = errors("---\n".join([one] * 3).encode())
    assert results[:2] == [None, None] and results[2] is not None and "expands to more" in results[2]


@pytest.mark.parametrize("payload, path", [
    (b"a: 18446744073709551616\n", "a"),
    (b'{"spec": {"ports": [1, 18446744073709551615]}}', "spec.ports[1]"),
    (b"spec: {ports: [1, -9223372036854775809]}\n", "spec.ports[1]"),
    (b"x: {y: [[0, 99999999999999999999999999999]]}\n", "x.y[0][1]"),
])
def test_integers_beyond_64_bits_are_refused_with_their_path(payload, path):
    (message,) = errors(payload)
    assert message.startswith(f"{path}: Invalid value: ") and message.endswith("must be a 64-bit integer")


def test_64_bit_integers_are_kept_exactly():
    (result,) = split_documents(b"a: 9223372036854775807\nb: -9223372036854775808\n")
    assert result.doc == {"a": 2**63 - 1, "b": -(2**63)}


@pytest.mark.parametrize("digits", [4301, 5000, 100_000])
def test_integers_too_long_to_parse_are_refused(digits):
    for payload in (b"a: " + b"9" * digits + b"\n", b'{"a": ' + b"9" * digits + b"}"):
        (message,) = errors(payload)
        assert message is not None and ("digits" in message or "64-bit" in message), message


def test_too_many_documents_are_refused_whole():
    many = b"\n---\n".join(b"a: 1" for _ in range(MAX_DOCUMENTS + 1))
    assert errors(many) == [f"the record holds more than {MAX_DOCUMENTS} documents and items: "
                            "split it into several records"]
    items = {"apiVersion": "v1", "kind": "List", "items": [{"a": 1}] * (MAX_DOCUMENTS + 1)}
    assert len(errors(json.dumps(items).encode())) == 1
    assert len(errors(b"\n---\n".join(b"a: 1" for _ in range(MAX_DOCUMENTS)))) == MAX_DOCUMENTS
