"""Kubernetes' `EncryptionConfiguration` (apiserver.config.k8s.io/v1), as the API reads
it from `KAFKUBE_ENCRYPTION_CONFIG`: which resources are encrypted at rest, and with
which providers (`aesgcm`, `aescbc`, `secretbox`, `identity`); the first provider's
first key encrypts, every listed key decrypts, so keys rotate by adding a new key in
front and re-writing the objects.

Kafkube encrypts the values of Secrets (`secrets`, or the wildcards `*.` and `*.*`
that cover them); KMS providers are refused (no KMS plugin runs here). Validation
follows upstream's `ValidateEncryptionConfiguration`, with its messages; a key's
secret is never echoed (`Invalid value: "REDACTED"`). Loaded by
`services.api.encryption`."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError

from schemas.meta import KubeModel

API_VERSION = "apiserver.config.k8s.io/v1"
KIND = "EncryptionConfiguration"
ProviderName = Literal["aesgcm", "aescbc", "secretbox", "identity"]
KEY_SIZES: dict[str, tuple[int, ...]] = {"aesgcm": (16, 24, 32), "aescbc": (16, 24, 32), "secretbox": (32,)}
SECRET_RESOURCES = frozenset({"secrets", "*.", "*.*"})  # the entries that cover Secrets


class EncryptionConfigError(ValueError):
    """The file cannot be used: its path and every problem, one per line."""


class Key(KubeModel):
    name: str | None = None
    secret: str | None = Field(default=None, repr=False)

    def material(self) -> bytes:
        return base64.b64decode(self.secret or "", validate=True)


class KeyedProvider(KubeModel):
    keys: list[Key] = Field(default_factory=list)


class IdentityProvider(KubeModel):
    pass


class ProviderConfiguration(KubeModel):
    aesgcm: KeyedProvider | None = None
    aescbc: KeyedProvider | None = None
    secretbox: KeyedProvider | None = None
    identity: IdentityProvider | None = None
    kms: dict[str, object] | None = None

    def chosen(self) -> list[str]:
        return [name for name in ("aesgcm", "aescbc", "secretbox", "identity", "kms") if getattr(self, name) is not None]


class ResourceConfiguration(KubeModel):
    resources: list[str] = Field(default_factory=list)
    providers: list[ProviderConfiguration] = Field(default_factory=list)


class EncryptionConfiguration(KubeModel):
    api_version: Literal["apiserver.config.k8s.io/v1"] = "apiserver.config.k8s.io/v1"
    kind: Literal["EncryptionConfiguration"] = "EncryptionConfiguration"
    resources: list[ResourceConfiguration] = Field(default_factory=list)

    def secret_providers(self) -> list[tuple[ProviderName, list[Key]]]:
        """The providers that apply to Secrets, in order ([] when none does: stored as sent)."""
        for entry in self.resources:
            if SECRET_RESOURCES & set(entry.resources):
                return [(name, getattr(p, name).keys if name != "identity" else [])  # type: ignore[misc]
                        for p in entry.providers for name in p.chosen()]
        return []


def problems(config: EncryptionConfiguration) -> list[str]:
    """Every problem of the configuration, as upstream words them ([] when it is valid)."""
    found: list[str] = []
    if not config.resources:
        return ["resources: Required value: at least one resources is required"]
    for i, entry in enumerate(config.resources):
        where = f"resources[{i}]"
        if not entry.resources:
            found.append(f"{where}.resources: Required value: at least one {where}.resources is required")
        if len(set(entry.resources)) != len(entry.resources):
            found.append(f"{where}.resources: Invalid value: {entry.resources}: "
                         "the same resource cannot be specified multiple times")
        for j, resource in enumerate(entry.resources):
            if resource != resource.lower():
                found.append(f"{where}.resources[{j}]: Invalid value: {resource!r}: "
                             "resource name should not contain capital letters")
        if not entry.providers:
            found.append(f"{where}.providers: Required value: at least one {where}.providers is required")
        for j, provider in enumerate(entry.providers):
            found += _provider_problems(provider, f"{where}.providers[{j}]")
    return found


def _provider_problems(provider: ProviderConfiguration, where: str) -> list[str]:
    chosen = provider.chosen()
    if len(chosen) != 1:
        return [f"{where}: Invalid value: {chosen}: " + (
            "more than one provider specified in a single element, should split into different list elements"
            if chosen else "one provider is required (aesgcm, aescbc, secretbox or identity)")]
    name = chosen[0]
    if name == "kms":
        return [f"{where}.kms: Unsupported value: \"kms\": supported values: \"aesgcm\", \"aescbc\", "
                "\"secretbox\", \"identity\" (Kafkube runs no KMS plugin)"]
    if name == "identity":
        return []
    keyed: KeyedProvider = getattr(provider, name)
    path = f"{where}.{name}.keys"
    if not keyed.keys:
        return [f"{path}: Required value: at least one keys is required"]
    found: list[str] = []
    names = [key.name for key in keyed.keys]
    for k, key in enumerate(keyed.keys):
        found += _key_problems(key, f"{path}[{k}]", KEY_SIZES[name])
        if key.name and names.index(key.name) != k:
            found.append(f"{path}[{k}].name: Duplicate value: {key.name!r}")
        if ":" in (key.name or ""):
            found.append(f"{path}[{k}].name: Invalid value: {key.name!r}: must not contain ':'")
    return found


def _key_problems(key: Key, where: str, sizes: tuple[int, ...]) -> list[str]:
    found = [] if key.name else [f"{where}.name: Required value: name is a mandatory field for a key"]
    if not key.secret:
        return found + [f"{where}.secret: Required value: secret is a mandatory field for a key"]
    try:
        material = key.material()
    except (binascii.Error, ValueError):
        return found + [f'{where}.secret: Invalid value: "REDACTED": secrets must be base64 encoded']
    if len(material) not in sizes:
        found.append(f'{where}.secret: Invalid value: "REDACTED": secret is not of the expected length, '
                     f"got {len(material)}, expected one of {list(sizes)}")
    return found


def parse(text: str, source: str = "<config>") -> EncryptionConfiguration:
    """The configuration in `text` (YAML or JSON), or EncryptionConfigError naming every problem."""
    try:
        doc = yaml.safe_load(text)
        config = EncryptionConfiguration.model_validate(doc if doc is not None else {})
    except yaml.YAMLError as exc:
        raise EncryptionConfigError(f"{source}: not YAML: {exc}") from None
    except ValidationError as exc:
        lines = [f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()]
        raise EncryptionConfigError(f"{source}: " + "\n".join(lines)) from None
    if found := problems(config):
        raise EncryptionConfigError(f"{source}: " + "\n".join(found))
    return config


def load(path: str) -> EncryptionConfiguration:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise EncryptionConfigError(f"{path}: cannot read the encryption configuration: {exc.strerror}") from None
    return parse(text, path)
