"""Encryption at rest of Secret values: the configuration's validation (upstream's
messages, secrets never echoed), each provider's round trip, key rotation, the
identity rule, and the Secret-level storage and manifest sealing."""

from __future__ import annotations

import base64

import pytest

from schemas.encryption import EncryptionConfigError, parse
from services.api.encryption import DecryptError, ValueCodec
from services.api.secret_storage import SecretStorage, SecretValueError
from services.runtime import manifest_sealing
from services.runtime.secret_values import has_encrypted_data, is_encrypted, plaintext_size

K16, K32, K32B = (base64.b64encode(bytes([n]) * size).decode() for n, size in ((1, 16), (2, 32), (3, 32)))


def config(*providers: str) -> str:
    return ("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n"
            "  - resources: [secrets]\n    providers:\n" + "".join(providers))


def keyed(provider: str, *keys: tuple[str, str]) -> str:
    return (f"      - {provider}:\n          keys:\n"
            + "".join(f"            - name: {n}\n              secret: {s}\n" for n, s in keys))


IDENTITY = "      - identity: {}\n"


def codec(text: str) -> ValueCodec:
    made = ValueCodec.of(parse(text))
    assert made is not None
    return made


@pytest.mark.parametrize("provider,key", [("aesgcm", K16), ("aesgcm", K32), ("aescbc", K32), ("secretbox", K32)])
def test_each_provider_round_trips_with_upstreams_prefix(provider: str, key: str) -> None:
    c = codec(config(keyed(provider, ("key1", key))))
    stored = c.seal(b"hunter2", b"secrets/a/s/k")
    assert stored.startswith(f"k8s:enc:{provider}:v1:key1:".encode())
    assert b"hunter2" not in stored
    assert c.open(stored, b"secrets/a/s/k") == b"hunter2"
    assert c.seal(b"hunter2", b"secrets/a/s/k") != stored  # a fresh nonce every time


def test_aesgcm_binds_the_value_to_its_secret_and_key() -> None:
    c = codec(config(keyed("aesgcm", ("key1", K32))))
    stored = c.seal(b"v", b"secrets/a/s/k")
    with pytest.raises(DecryptError):
        c.open(stored, b"secrets/b/s/k")  # copied into another Secret: does not open


def test_rotation_first_key_encrypts_every_key_decrypts() -> None:
    old = codec(config(keyed("aesgcm", ("key1", K32))))
    stored_old = old.seal(b"v1", b"c")
    rotated = codec(config(keyed("aesgcm", ("key2", K32B), ("key1", K32))))
    assert rotated.open(stored_old, b"c") == b"v1"
    assert not rotated.is_current(stored_old)
    fresh = rotated.seal(b"v2", b"c")
    assert fresh.startswith(b"k8s:enc:aesgcm:v1:key2:") and rotated.is_current(fresh)
    with pytest.raises(DecryptError, match="key2"):
        old.open(fresh, b"c")  # the old configuration cannot read what the new key wrote
    dropped = codec(config(keyed("aesgcm", ("key2", K32B))))
    with pytest.raises(DecryptError, match="removed"):
        dropped.open(stored_old, b"c")


def test_plain_values_open_only_with_identity_listed() -> None:
    with pytest.raises(DecryptError, match="identity"):
        codec(config(keyed("aesgcm", ("key1", K32)))).open(b"plain", b"c")
    assert codec(config(keyed("aesgcm", ("key1", K32)), IDENTITY)).open(b"plain", b"c") == b"plain"
    identity_first = codec(config(IDENTITY, keyed("aesgcm", ("key1", K32))))
    assert not identity_first.encrypts and identity_first.seal(b"p", b"c") == b"p"


@pytest.mark.parametrize("text,message", [
    (config(keyed("aesgcm", ("key1", base64.b64encode(b"short").decode()))),
     'resources[0].providers[0].aesgcm.keys[0].secret: Invalid value: "REDACTED": secret is not of the '
     "expected length, got 5, expected one of [16, 24, 32]"),
    (config(keyed("secretbox", ("key1", K16))), "expected one of [32]"),
    (config(keyed("aesgcm", ("key1", "not base64!"))), '"REDACTED": secrets must be base64 encoded'),
    (config(keyed("aesgcm", ("", K32))), "keys[0].name: Required value: name is a mandatory field for a key"),
    (config(keyed("aesgcm", ("a", K32), ("a", K32B))), "keys[1].name: Duplicate value: 'a'"),
    (config("      - aesgcm: {keys: []}\n"), "aesgcm.keys: Required value: at least one keys is required"),
    (config("      - kms: {name: x}\n"), "Kafkube runs no KMS plugin"),
    (config("      - identity: {}\n        aesgcm: {keys: [{name: a, secret: " + K32 + "}]}\n"),
     "more than one provider specified in a single element"),
    ("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources: []\n",
     "resources: Required value"),
])
def test_invalid_configurations_name_the_field_and_never_the_secret(text: str, message: str) -> None:
    with pytest.raises(EncryptionConfigError) as caught:
        parse(text, "enc.yaml")
    assert message in str(caught.value)
    assert K32 not in str(caught.value) and "c2hvcnQ" not in str(caught.value)


def test_a_configuration_without_secrets_encrypts_nothing() -> None:
    text = config(keyed("aesgcm", ("k", K32))).replace("[secrets]", "[configmaps]")
    assert ValueCodec.of(parse(text)) is None
    assert ValueCodec.of(parse(text.replace("[configmaps]", "['*.']"))) is not None


def secret(**data: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "prod"},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


def test_storage_encrypts_every_value_and_string_data_and_opens_them_again() -> None:
    storage = SecretStorage(codec(config(keyed("aesgcm", ("key1", K32)))))
    body = {**secret(password="hunter2"), "stringData": {"user": "admin"}}
    stored = storage.to_storage(body)
    assert stored is not None and "stringData" not in stored
    assert set(stored["data"]) == {"password", "user"} and has_encrypted_data(stored)
    assert all(is_encrypted(v) for v in stored["data"].values())
    assert b"hunter2" not in repr(stored).encode() and "aHVudGVyMg" not in repr(stored)
    assert plaintext_size(stored["data"]["password"]) == len("hunter2")
    opened = storage.from_storage(stored)
    assert opened is not None and base64.b64decode(opened["data"]["password"]) == b"hunter2"
    assert base64.b64decode(opened["data"]["user"]) == b"admin"
    moved = {**stored, "metadata": {"name": "other", "namespace": "prod"}}
    with pytest.raises(SecretValueError, match="cannot be decrypted") as caught:
        storage.from_storage(moved)  # a value copied into another Secret does not open
    assert "hunter2" not in str(caught.value)


def test_request_values_in_clear_pass_but_stored_ones_need_identity() -> None:
    storage = SecretStorage(codec(config(keyed("aesgcm", ("key1", K32)))))
    plain = secret(a="x")
    assert storage.from_storage(plain, stored=False) == plain
    with pytest.raises(SecretValueError):
        storage.from_storage(plain)


def test_without_a_configuration_values_are_stored_as_sent() -> None:
    storage = SecretStorage(None)
    assert not storage.encrypts and storage.manifest_key is None
    assert storage.to_storage(secret(a="x")) == secret(a="x")


def test_manifest_sealing_round_trip_and_binding() -> None:
    storage = SecretStorage(codec(config(keyed("aesgcm", ("key1", K32)))))
    assert storage.manifest_key is not None
    _, public = storage.manifest_key
    manifest = {**secret(password="hunter2"), "stringData": {"user": "admin"}}
    sealed = manifest_sealing.seal_data(manifest, public, "prod")
    assert "stringData" not in sealed and "hunter2" not in repr(sealed) and "admin" not in repr(sealed)
    opened = storage.open_manifest(sealed, "prod")
    assert {k: base64.b64decode(v) for k, v in opened["data"].items()} == {"password": b"hunter2", "user": b"admin"}
    with pytest.raises(SecretValueError, match=r"data\[password\].*does not open"):
        storage.open_manifest(sealed, "dev")  # replayed into another namespace
    rotated = SecretStorage(codec(config(keyed("aesgcm", ("key2", K32B), ("key1", K32)))))
    assert rotated.manifest_key != storage.manifest_key
    assert rotated.open_manifest(sealed, "prod")["data"] == opened["data"]  # the old key still opens


def test_a_rewrite_after_rotation_moves_every_value_to_the_new_key() -> None:
    old = SecretStorage(codec(config(keyed("aesgcm", ("key1", K32)))))
    stored = old.to_storage(secret(password="hunter2"))
    rotated = SecretStorage(codec(config(keyed("secretbox", ("key2", K32B)), keyed("aesgcm", ("key1", K32)))))
    opened = rotated.from_storage(stored)  # what the writer decides on
    rewritten = rotated.to_storage(opened)
    assert rewritten is not None and base64.b64decode(rewritten["data"]["password"]).startswith(
        b"k8s:enc:secretbox:v1:key2:")
    assert rotated.from_storage(rewritten) == opened
    with pytest.raises(SecretValueError):
        old.from_storage(rewritten)  # the old key alone no longer reads it
