"""Name/label validators agree with Kubernetes' regexes, and FieldError formatting."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from schemas.validation import (
    FieldError,
    ManifestInvalid,
    is_config_map_key,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_iana_svc_name,
    is_label_value,
    is_qualified_name,
    is_valid_port_num,
    not_supported,
)

LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
ALPHABET = st.sampled_from("abcXYZ019-._/ \n")
texts = st.text(ALPHABET, max_size=80) | st.from_regex(SUBDOMAIN, fullmatch=True)


@given(texts)
def test_dns1123_label_agrees_with_regex(value):
    ok = LABEL.fullmatch(value) is not None and len(value) <= 63
    assert (is_dns1123_label(value) == []) == ok


@given(texts)
def test_dns1123_subdomain_agrees_with_regex(value):
    ok = SUBDOMAIN.fullmatch(value) is not None and len(value) <= 253
    assert (is_dns1123_subdomain(value) == []) == ok


@given(texts)
def test_label_value_agrees_with_regex(value):
    ok = value == "" or (NAME.fullmatch(value) is not None and len(value) <= 63)
    assert (is_label_value(value) == []) == ok


@given(texts, st.booleans())
def test_qualified_name_agrees_with_regex(value, with_prefix):
    key = f"example.com/{value}" if with_prefix else value
    parts = key.split("/")
    name_ok = NAME.fullmatch(parts[-1]) is not None and len(parts[-1]) <= 63
    if len(parts) == 1:
        ok = name_ok
    elif len(parts) == 2:
        ok = name_ok and SUBDOMAIN.fullmatch(parts[0]) is not None and len(parts[0]) <= 253
    else:
        ok = False
    assert (is_qualified_name(key) == []) == ok


def test_qualified_name_prefix_rules():
    assert is_qualified_name("kubernetes.io/os") == []
    assert is_qualified_name("/os") == ["prefix part must be non-empty"]
    assert is_qualified_name("Example.com/os")[0].startswith(
        "prefix part a lowercase RFC 1123 subdomain")
    assert is_qualified_name("example.com/") == ["name part must be non-empty"]
    assert is_qualified_name("a" * 64) == ["name part must be no more than 63 characters"]


def test_iana_svc_name_and_ports():
    assert is_iana_svc_name("http") == []
    assert is_iana_svc_name("http-alt2") == []
    assert is_iana_svc_name("8080") == ["must contain at least one letter (a-z)"]
    assert is_iana_svc_name("-http") == ["must not begin or end with a hyphen"]
    assert is_iana_svc_name("a" * 16) == ["must be no more than 15 characters"]
    assert is_valid_port_num(0) == ["must be between 1 and 65535, inclusive"]
    assert is_valid_port_num(65535) == [] and is_valid_port_num(1) == []


def test_config_keys():
    assert is_config_map_key("app.properties") == []
    assert is_config_map_key("KEY_name-1") == []
    assert is_config_map_key(".") == ["must not be '.'"]
    assert len(is_config_map_key("a/b")) == 1


def test_field_error_format():
    assert str(FieldError("spec.replicas", "Invalid", -1, "must be greater than or equal to 0")) \
        == "spec.replicas: Invalid value: -1: must be greater than or equal to 0"
    assert str(FieldError("spec.containers[0].image", "Required")) == \
        "spec.containers[0].image: Required value"
    assert str(not_supported("spec.restartPolicy", "Sometimes", ["Always", "Never", "OnFailure"])) \
        == ('spec.restartPolicy: Unsupported value: "Sometimes": '
            'supported values: "Always", "Never", "OnFailure"')
    assert str(FieldError("x", "Duplicate", "a")) == 'x: Duplicate value: "a"'
    assert str(FieldError("x", "Forbidden", "ignored", "no")) == "x: Forbidden: no"
    assert str(FieldError("x", "Invalid", True, "d")) == "x: Invalid value: true: d"


def test_manifest_invalid_single_and_many():
    one = ManifestInvalid("Pod", "p", [FieldError("a", "Required")])
    assert str(one) == 'Pod "p" is invalid: a: Required value'
    two = ManifestInvalid("Deployment", "web", [FieldError("a", "Required"),
                                                FieldError("b", "Required")], group="apps")
    assert str(two) == 'Deployment.apps "web" is invalid: [a: Required value, b: Required value]'
    assert not two.retriable
