"""What the CLI shows of a Secret: `describe` prints kubectl's layout with each key's
size, `history` names the keys that changed, an old revision is printed redacted; a
value (plain, base64, or inside the last-applied annotation) appears in none of them."""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from typing import Any

import orjson

from schemas.secret_fields import LAST_APPLIED
from services.cli.describe import render
from services.cli.history import Version, changes, history_rows
from services.cli.printers import to_yaml
from services.cli.secret_view import describe_secret, redacted

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
CANARY = "hunter2-CANARY-v1"
CANARY_2 = "hunter2-CANARY-v2!"


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def secret(rv: str, data: dict[str, str], **meta: Any) -> dict[str, Any]:
    """A stored Secret whose manifest was applied by kubectl (values in the annotation)."""
    applied = orjson.dumps({"apiVersion": "v1", "kind": "Secret", "data": data}).decode()
    annotations = {LAST_APPLIED: applied, **meta.pop("annotations", {})}
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": "db", "namespace": "prod", "resourceVersion": rv, "annotations": annotations,
                         **meta},
            "data": data}


def leaks(text: str) -> bool:
    return any(v in text for v in (CANARY, CANARY_2, b64(CANARY), b64(CANARY_2), "hunter2"))


def test_describe_prints_kubectls_layout_with_sizes_and_no_values() -> None:
    obj = secret("3", {"password": b64(CANARY), "username": b64("admin"), "empty": "", "tls.key": b64("é")},
                 labels={"app": "db", "tier": "data"}, annotations={"team": "payments"})
    assert describe_secret(obj) == (
        "Name:         db\n"
        "Namespace:    prod\n"
        "Labels:       app=db\n"
        "              tier=data\n"
        "Annotations:  team: payments\n"
        "\n"
        "Type:  Opaque\n"
        "\n"
        "Data\n"
        "====\n"
        "empty:     0 bytes\n"
        "password:  17 bytes\n"
        "tls.key:   2 bytes\n"
        "username:  5 bytes\n")


def test_describe_of_a_bare_secret_says_none() -> None:
    text = describe_secret({"kind": "Secret", "type": "kubernetes.io/tls", "metadata": {"name": "t", "namespace": "a"}})
    assert "Labels:       <none>\nAnnotations:  <none>\n\nType:  kubernetes.io/tls\n\nData\n====\n" in text


def test_a_value_encrypted_at_rest_is_sized_in_clear_where_the_provider_allows() -> None:
    aesgcm = b64(b"k8s:enc:aesgcm:v1:key1:" + bytes(range(12 + 16 + 9)))  # nonce, tag, 9 bytes
    aescbc = b64(b"k8s:enc:aescbc:v1:key1:" + bytes(range(48)))  # padded: the size is not known
    text = describe_secret(secret("1", {"a": aesgcm, "b": aescbc, "c": "not base64!"}))
    assert "a:  9 bytes\nb:  <encrypted>\nc:  <unknown>\n" in text


def test_long_annotations_fold_and_the_last_applied_one_is_left_out_everywhere() -> None:
    obj = secret("1", {"password": b64(CANARY)}, annotations={"note": "x" * 200})
    text = describe_secret(obj)
    assert "Annotations:  note:\n                " + "x" * 138 + "...\n" in text and not leaks(text)
    cm = {"kind": "ConfigMap", "metadata": {"name": "c", "annotations": {LAST_APPLIED: CANARY, "a": "b"}}}
    assert "Annotations:  a=b\n" in render(cm, []) and not leaks(render(cm, []))


def test_history_names_the_keys_added_changed_and_removed() -> None:
    before = secret("1", {"password": b64(CANARY), "old": b64("x")})
    after = secret("2", {"password": b64(CANARY_2), "new": b64(CANARY)}, labels={"v": "2"})
    assert changes(before, after, limit=10) == (
        "data.new: added, data.password: changed, "
        f"metadata.annotations.{LAST_APPLIED}: changed, metadata.labels.v: <none> -> 2, data.old: removed")
    rows = history_rows([Version(1, NOW, before, "Created", "alice", "api-intake"),
                         Version(2, NOW, after, "Updated", "alice", "api-intake"),
                         Version(3, NOW, None, "Deleted", "alice", "api-intake")])
    assert rows[1][5].startswith("data.new: added, data.password: changed")
    assert not leaks(repr(rows))


def test_history_of_string_data_and_same_size_values_still_shows_the_change() -> None:
    before = {**secret("1", {}), "stringData": {"pin": "1234"}}
    after = {**secret("2", {}), "stringData": {"pin": "9876"}}
    assert changes(before, after) == "stringData.pin: changed"


def test_a_configmaps_history_still_shows_its_values() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    assert changes({**cm, "data": {"a": "1"}}, {**cm, "data": {"a": "2"}}) == "data.a: 1 -> 2"


def test_an_old_revision_is_printed_redacted() -> None:
    obj = {**secret("4", {"password": b64(CANARY), "token": b64(b"k8s:enc:aescbc:v1:k:" + b"z" * 32)}),
           "stringData": {"pin": CANARY_2}}
    shown = redacted(obj)
    assert shown["data"] == {"password": "<redacted: 17 bytes>", "token": "<redacted: <encrypted>>"}
    assert shown["stringData"] == {"pin": "<redacted: 18 bytes>"}
    assert shown["metadata"]["annotations"][LAST_APPLIED] == "<redacted>"
    assert not leaks(to_yaml([shown])) and obj["data"]["password"] == b64(CANARY)  # the input is not mutated
    cm = {"kind": "ConfigMap", "data": {"a": CANARY}}
    assert redacted(cm) is cm
