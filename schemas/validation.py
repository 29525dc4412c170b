"""Kubernetes name, label and port checks, and the field-error types they report.

Used by ``schemas.manifest`` (admission of manifests) and by ``schemas.checks`` (the
per-kind semantic rules); the API turns ``ManifestInvalid`` into a ``Rejected`` event.
Every message is Kubernetes' own wording, so users can search for it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Literal

DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN_FMT = rf"{DNS1123_LABEL_FMT}(\.{DNS1123_LABEL_FMT})*"
DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE_FMT = f"({QUALIFIED_NAME_FMT})?"
CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"
PERCENT_FMT = "[0-9]+%"

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
QUALIFIED_NAME_MAX = 63
LABEL_VALUE_MAX = 63
IANA_SVC_NAME_MAX = 15
ANNOTATIONS_MAX_BYTES = 256 * 1024
MAX_VALUE_CHARS = 256

_LABEL_RE = re.compile(f"^{DNS1123_LABEL_FMT}$")
_SUBDOMAIN_RE = re.compile(f"^{DNS1123_SUBDOMAIN_FMT}$")
_DNS1035_RE = re.compile(f"^{DNS1035_LABEL_FMT}$")
_QUALIFIED_RE = re.compile(f"^{QUALIFIED_NAME_FMT}$")
_LABEL_VALUE_RE = re.compile(f"^{LABEL_VALUE_FMT}$")
_CONFIG_KEY_RE = re.compile(f"^{CONFIG_KEY_FMT}$")
_PERCENT_RE = re.compile(f"^{PERCENT_FMT}$")
_SVC_NAME_RE = re.compile("^[-a-z0-9]+$")
_HAS_LETTER_RE = re.compile("[a-z]")


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """Kubernetes' ``RegexError``: message, examples and the regex used."""
    text = msg
    if examples:
        text += " (e.g. " + ",  or ".join(f"'{e}'" for e in examples) + ", "
    else:
        text += " ("
    return text + f"regex used for validation is '{fmt}')"


def max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


def _full(pattern: re.Pattern[str], value: str) -> bool:
    return pattern.fullmatch(value) is not None and "\n" not in value


DNS1123_LABEL_MSG = regex_error(
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character",
    DNS1123_LABEL_FMT, "my-name", "123-abc",
)
DNS1123_SUBDOMAIN_MSG = regex_error(
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character",
    DNS1123_SUBDOMAIN_FMT, "example.com",
)
DNS1035_LABEL_MSG = regex_error(
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
    "with an alphabetic character, and end with an alphanumeric character",
    DNS1035_LABEL_FMT, "my-name", "abc-123",
)
QUALIFIED_NAME_MSG = regex_error(
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character",
    QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc",
)
LABEL_VALUE_MSG = regex_error(
    "a valid label must be an empty string or consist of alphanumeric characters, '-', "
    "'_' or '.', and must start and end with an alphanumeric character",
    LABEL_VALUE_FMT, "MyValue", "my_value", "12345",
)
CONFIG_KEY_MSG = regex_error(
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
    CONFIG_KEY_FMT, "key.name", "KEY_NAME", "key-name",
)
PERCENT_MSG = regex_error(
    "a valid percent string must be a numeric string followed by an ending '%'",
    PERCENT_FMT, "1%", "93%",
)
PORT_RANGE_MSG = "must be between 1 and 65535, inclusive"


def is_dns1123_label(value: str) -> list[str]:
    """Errors for a DNS-1123 label (namespace names, container names); [] when valid."""
    errs = [max_len_error(DNS1123_LABEL_MAX)] if len(value) > DNS1123_LABEL_MAX else []
    if not _full(_LABEL_RE, value):
        errs.append(DNS1123_LABEL_MSG)
    return errs


def is_dns1123_subdomain(value: str) -> list[str]:
    """Errors for a DNS-1123 subdomain (most object names); [] when valid."""
    errs = [max_len_error(DNS1123_SUBDOMAIN_MAX)] if len(value) > DNS1123_SUBDOMAIN_MAX else []
    if not _full(_SUBDOMAIN_RE, value):
        errs.append(DNS1123_SUBDOMAIN_MSG)
    return errs


def is_dns1035_label(value: str) -> list[str]:
    """Errors for a DNS-1035 label (Service names); [] when valid."""
    errs = [max_len_error(DNS1123_LABEL_MAX)] if len(value) > DNS1123_LABEL_MAX else []
    if not _full(_DNS1035_RE, value):
        errs.append(DNS1035_LABEL_MSG)
    return errs


def is_qualified_name(value: str) -> list[str]:
    """Errors for a label/annotation key: ``[dns-subdomain/]name``; [] when valid."""
    parts = value.split("/")
    if len(parts) > 2:
        return [
            "a qualified name " + QUALIFIED_NAME_MSG
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    name = parts[-1]
    errs: list[str] = []
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs += ["prefix part " + e for e in is_dns1123_subdomain(prefix)]
    if not name:
        return errs + ["name part must be non-empty"]
    if len(name) > QUALIFIED_NAME_MAX:
        errs.append("name part " + max_len_error(QUALIFIED_NAME_MAX))
    if not _full(_QUALIFIED_RE, name):
        errs.append("name part " + QUALIFIED_NAME_MSG)
    return errs


def is_label_value(value: str) -> list[str]:
    """Errors for a label value (may be empty); [] when valid."""
    errs = [max_len_error(LABEL_VALUE_MAX)] if len(value) > LABEL_VALUE_MAX else []
    if not _full(_LABEL_VALUE_RE, value):
        errs.append(LABEL_VALUE_MSG)
    return errs


def is_iana_svc_name(value: str) -> list[str]:
    """Errors for a port name (IANA_SVC_NAME, RFC 6335); [] when valid."""
    errs: list[str] = []
    if len(value) > IANA_SVC_NAME_MAX:
        errs.append(max_len_error(IANA_SVC_NAME_MAX))
    if not _full(_SVC_NAME_RE, value):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if "--" in value:
        errs.append("must not contain consecutive hyphens")
    if not _HAS_LETTER_RE.search(value):
        errs.append("must contain at least one letter (a-z)")
    if value.startswith("-") or value.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def is_valid_port_num(port: int) -> list[str]:
    """Errors for a port number outside 1-65535; [] when valid."""
    return [] if 1 <= port <= 65535 else [PORT_RANGE_MSG]


def is_config_map_key(value: str) -> list[str]:
    """Errors for a ConfigMap/Secret data key; [] when valid."""
    errs = [max_len_error(DNS1123_SUBDOMAIN_MAX)] if len(value) > DNS1123_SUBDOMAIN_MAX else []
    if not _full(_CONFIG_KEY_RE, value):
        errs.append(CONFIG_KEY_MSG)
    if value == ".":
        errs.append("must not be '.'")
    elif value == "..":
        errs.append("must not be '..'")
    elif value.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def is_percent(value: str) -> list[str]:
    """Errors for an int-or-percent string such as ``25%``; [] when valid."""
    return [] if _full(_PERCENT_RE, value) else [PERCENT_MSG]


ErrorKind = Literal[
    "Required", "Invalid", "Unsupported", "Duplicate", "Forbidden", "TooLong", "NotFound", "TooMany"
]
_KIND_TEXT: dict[str, str] = {
    "Required": "Required value",
    "Invalid": "Invalid value",
    "Unsupported": "Unsupported value",
    "Duplicate": "Duplicate value",
    "Forbidden": "Forbidden",
    "TooLong": "Too long",
    "NotFound": "Not found",
    "TooMany": "Too many",
}
_NO_VALUE = {"Required", "Forbidden", "TooLong"}


class Omitted:
    """A value left out of messages (secret data)."""

    def __repr__(self) -> str:
        return "<omitted>"


OMITTED = Omitted()


def format_value(value: object) -> str:
    """Render a bad value the way Kubernetes does: strings quoted, maps as JSON."""
    if isinstance(value, Omitted):
        return "<omitted>"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    try:
        text = json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
    except (TypeError, ValueError, RecursionError):
        text = f"<{type(value).__name__}>"
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


@dataclass(frozen=True)
class FieldError:
    """One problem at one field path, printed in Kubernetes' ``field.Error`` format."""

    path: str
    kind: ErrorKind
    value: object = None
    detail: str = ""

    def __str__(self) -> str:
        body = _KIND_TEXT[self.kind]
        if self.kind not in _NO_VALUE:
            body += ": " + format_value(self.value)
        if self.detail:
            body += ": " + self.detail
        return f"{self.path}: {body}" if self.path else body


def not_supported(path: str, value: object, supported: list[str]) -> FieldError:
    """Kubernetes' ``NotSupported``: lists the allowed values."""
    detail = "supported values: " + ", ".join(f'"{s}"' for s in supported)
    return FieldError(path, "Unsupported", value, detail)


class ManifestError(Exception):
    """Root of the errors ``schemas.manifest`` raises; none of them is retriable."""

    retriable = False


@dataclass
class ManifestInvalid(ManifestError):
    """A manifest that failed validation: ``Deployment.apps "web" is invalid: [...]``."""

    kind: str
    name: str
    errors: list[FieldError] = field(default_factory=list)
    group: str = ""

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        qualified = f"{self.kind}.{self.group}" if self.group else self.kind
        messages = [str(e) for e in self.errors]
        joined = messages[0] if len(messages) == 1 else "[" + ", ".join(messages) + "]"
        return f'{qualified} "{self.name}" is invalid: {joined}'
