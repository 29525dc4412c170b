"""Garbage and poison on kafkube.manifests, interleaved with valid manifests: every
document gets exactly one answer, garbage is Rejected, every valid one is applied, and
the API (one process for all examples: it must survive them all) keeps running."""

from __future__ import annotations

import asyncio
from typing import Callable
from uuid import uuid4

import orjson
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from schemas.manifest import split_documents
from services.runtime.config import Settings
from tests.integration.kafkit import ServiceProcess, desired, publish, wait_for_answers
from tests.poison import NAMED, poisoned_manifests

pytestmark = pytest.mark.kafka

NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,20}[a-z0-9]", fullmatch=True)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)


def config_map(name: str) -> bytes:
    return orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                         "data": {"k": "v"}})


def nested(depth: int) -> bytes:
    return b'{"a": ' * depth + b"1" + b"}" * depth


garbage = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(str.encode),
    json_values.map(orjson.dumps),
    st.sampled_from([b"apiVersion: v1\nkind: Pod\nmetadata: {name: x\n", b"- a\n- b\n", b"{{{{", b"\xff\xfe",
                     b"kind: ConfigMap\n", b"apiVersion: v9\nkind: Gizmo\nmetadata: {name: g}\n",
                     b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: UPPER}\n",
                     b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok, labels: {'-bad': x}}\n",
                     b"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: many}\n",
                     b"apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 70000}]}\n"]),
    st.integers(200, 3000).map(nested),
    st.sampled_from(sorted(set(NAMED) - {"two 900 KiB objects in one record"})).map(NAMED.__getitem__),
)
valid = NAMES.map(lambda n: ("valid", n))
poison = poisoned_manifests().map(lambda p: ("poison", p))  # may happen to be valid
payloads = st.lists(st.one_of(garbage.map(lambda g: ("garbage", g)), poison, valid), min_size=20, max_size=40)


@pytest.fixture
def api(services: Callable[..., ServiceProcess]) -> ServiceProcess:
    return services("api")


@hsettings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=payloads)
def test_every_document_is_answered_and_the_api_survives(settings: Settings, api: ServiceProcess,
                                                         batch: list[tuple[str, object]]) -> None:
    asyncio.run(_check(settings, api, batch))


async def _check(settings: Settings, api: ServiceProcess, batch: list[tuple[str, object]]) -> None:
    raw = [config_map(f"fz-{x}") if kind == "valid" else x for kind, x in batch]
    big = orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big-" + uuid4().hex[:6]},
                        "data": {"blob": "x" * 1_000_000}})
    raw.append(big)
    ids = [uuid4().hex for _ in raw]
    await publish(settings, raw, request_ids=ids)  # type: ignore[arg-type]
    wanted = {(rid, str(doc)) for rid, payload in zip(ids, raw)
              for doc in range(max(1, len(split_documents(payload))))}  # type: ignore[arg-type]
    found = await wait_for_answers(settings, wanted, timeout=60)
    assert set(found) == wanted, f"unanswered documents: {sorted(wanted - set(found))[:5]}"
    assert all(len(events) == 1 for events in found.values()), "a document was answered twice"
    for (rid, _), events in found.items():
        if events[0]["reason"] == "Rejected":
            assert events[0]["message"], "a rejection must say why"
    for rid, (kind, _) in zip(ids, batch):
        if kind == "garbage":
            assert {e[0]["reason"] for (r, _), e in found.items() if r == rid} == {"Rejected"}
    state = await desired(settings, "configmaps")
    for kind, name in batch:
        if kind == "valid":
            assert f"default/fz-{name}" in state
    assert len(state[f"default/{orjson.loads(big)['metadata']['name']}"]["data"]["blob"]) == 1_000_000
    assert api.alive(), "the API stopped"
