"""Protobuf Job and CronJob bodies (kubectl create job|cronjob) read by the generated field
tables: nested messages, repeated and map fields, Quantity and IntOrString, Go's zero values
left out except on pointer fields, unknown fields refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.apiserver.protobuf import ProtobufError
from services.apiserver.protobuf_typed import typed_object
from tests.unit.apiserver.test_protobuf_and_credentials import field, varint


def number(n: int, value: int) -> bytes:
    return varint(n << 3) + varint(value)


def envelope(api_version: bytes, kind: bytes, raw: bytes) -> bytes:
    return b"k8s\x00" + field(1, field(1, api_version) + field(2, kind)) + field(2, raw)


CONTAINER = (field(1, b"main") + field(2, b"busybox") + field(3, b"sh") + field(3, b"-c") + field(3, b"echo hi")
             + field(5, b"") + number(16, 0)  # workingDir "" and stdin false: Go's zeros, left out
             + field(8, field(1, field(1, b"cpu") + field(2, field(1, b"100m"))))  # resources.limits[cpu]
             + field(6, field(1, b"http") + number(3, 8080)))  # ports[0]
POD_SPEC = field(2, CONTAINER) + field(3, b"Never") + number(21, 0)  # automountServiceAccountToken: false (a pointer)
JOB_SPEC = number(7, 0) + field(6, field(1, b"") + field(2, POD_SPEC))  # backoffLimit 0 (a pointer), template
META = field(1, b"once") + field(3, b"default") + field(11, field(1, b"app") + field(2, b"once")) \
    + field(13, field(1, b"CronJob") + field(3, b"tick") + field(4, b"u1") + field(5, b"batch/v1") + number(6, 1))


def test_a_job_in_its_json_shape() -> None:
    job = typed_object(envelope(b"batch/v1", b"Job", field(1, META) + field(2, JOB_SPEC) + field(3, b"")),
                       "batch/v1", "Job")
    assert job == {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "once", "namespace": "default", "labels": {"app": "once"},
                     "ownerReferences": [{"kind": "CronJob", "name": "tick", "uid": "u1", "apiVersion": "batch/v1",
                                          "controller": True}]},
        "spec": {"backoffLimit": 0, "template": {"metadata": {}, "spec": {
            "containers": [{"name": "main", "image": "busybox", "command": ["sh", "-c", "echo hi"],
                            "resources": {"limits": {"cpu": "100m"}},
                            "ports": [{"name": "http", "containerPort": 8080}]}],
            "restartPolicy": "Never", "automountServiceAccountToken": False}}}}


def test_a_cronjob_in_its_json_shape() -> None:
    spec = field(1, b"*/1 * * * *") + field(5, field(2, JOB_SPEC)) + number(4, 0)  # schedule, jobTemplate, suspend
    cronjob = typed_object(envelope(b"batch/v1", b"CronJob", field(1, field(1, b"tick")) + field(2, spec)),
                           "batch/v1", "CronJob")
    assert cronjob["spec"]["schedule"] == "*/1 * * * *" and cronjob["spec"]["suspend"] is False
    assert cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox"


@pytest.mark.parametrize("body,message", [
    (envelope(b"batch/v1", b"CronJob", b""), "expected a batch/v1 Job, not batch/v1/CronJob"),
    (envelope(b"batch/v1", b"Job", field(2, field(99, b"x"))), "Job.spec: field 99 of JobSpec is not known here"),
    (b"{}", "not a Kubernetes protobuf body"),
])
def test_what_is_refused(body: bytes, message: str) -> None:
    with pytest.raises(ProtobufError, match=message):
        typed_object(body, "batch/v1", "Job")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.builds(lambda raw: envelope(b"batch/v1", b"Job", raw), st.binary(max_size=200)))
def test_fuzz_any_bytes_are_read_or_refused(body: bytes) -> None:
    try:
        job = typed_object(body, "batch/v1", "Job")
    except ProtobufError:
        return
    assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job" and "status" not in job
