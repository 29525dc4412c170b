"""No record stops the API, on the real broker: the poison records of the issue on
`kafkube.manifests`, and malformed or lying records on `kafkube.requests`, each get one
answer, with one API replica and with two, which keep running; a valid manifest sent
after them lands."""

from __future__ import annotations

from typing import Callable
from uuid import uuid4

import orjson
import pytest

from schemas.records import Op, WriteRequest
from services.runtime.bus import encode, make_producer, partition_for
from services.runtime.config import Settings
from services.runtime.identity import token_headers
from services.runtime.topics import Topics
from tests.integration.kafkit import ServiceProcess, answers, desired, publish, wait_for, wait_for_answers
from tests.poison import CONFIG_MAP, NAMED, NAMED_DELETES

pytestmark = pytest.mark.kafka
ACCEPTED = {"two 900 KiB objects in one record"}


def _config_map(name: str, **extra: object) -> WriteRequest:
    body = {**CONFIG_MAP, "metadata": {"name": name, "namespace": "default"}, **extra}
    return WriteRequest(op=Op.APPLY, apiVersion="v1", kind="ConfigMap", namespace="default", name=name, body=body)


def lying_requests(settings: Settings) -> list[tuple[str, WriteRequest | bytes, str, int | None]]:
    """(what, request or raw bytes, record key, partition or None) on kafkube.requests."""
    stray = _config_map("stray")
    owner = partition_for(stray.key, settings.partitions)
    bind = WriteRequest(op=Op.BIND, apiVersion="v1", kind="Pod", namespace="default", name="p", nodeName="ghost")
    return [
        ("a request keyed for another object", _config_map("b").model_copy(update={"namespace": "kube-system"}),
         "team-a/a", None),
        ("a request on a partition that does not own its key", stray, stray.key,
         (owner + 1) % settings.partitions),
        ("a body naming another object", _config_map("lie-c").model_copy(update={"name": "lie-d"}), "default/lie-d", None),
        ("an integer beyond 64 bits in a kept field", _config_map("lie-e", extra=2**64), "default/lie-e", None),
        ("a bind to a node that does not exist", bind, bind.key, None),
    ]


async def send_requests(settings: Settings, items: list[tuple[str, WriteRequest | bytes, str, int | None]]) -> None:
    topic = Topics(settings.topic_prefix).requests
    async with make_producer(settings) as producer:
        for _what, request, key, partition in items:
            value = request if isinstance(request, bytes) else encode(request)
            await producer.send_and_wait(topic, key=key.encode(), value=value, partition=partition,
                                         headers=token_headers(settings))


@pytest.mark.parametrize("replicas", [1, 2])
async def test_poison_is_answered_once_and_the_api_keeps_running(
        settings: Settings, services: Callable[..., ServiceProcess], replicas: int) -> None:
    apis = [services("api") for _ in range(replicas)]
    names = sorted(NAMED)
    ids = {name: uuid4().hex for name in [*names, *NAMED_DELETES]}
    await publish(settings, [NAMED[n] for n in names], request_ids=[ids[n] for n in names])
    await publish(settings, list(NAMED_DELETES.values()), op="delete",
                  request_ids=[ids[n] for n in NAMED_DELETES])
    lies = lying_requests(settings)
    await send_requests(settings, [*lies, ("garbage", b"\xff{not json", "x", None),
                                   ("an empty record", b"", "y", None)])
    after = f"after-{uuid4().hex[:8]}"
    after_id = uuid4().hex
    await publish(settings, [orjson.dumps({**CONFIG_MAP, "metadata": {"name": after}})], request_ids=[after_id])

    wanted = {(ids[n], "0") for n in ids} | {(ids[n], "1") for n in ACCEPTED} | {(after_id, "0")}
    found = await wait_for_answers(settings, wanted, timeout=120)
    assert set(found) == wanted, f"unanswered: {sorted(wanted - set(found))}"
    assert all(len(events) == 1 for events in found.values()), "a document was answered twice"
    for name in [*names, *NAMED_DELETES]:
        (event,) = found[(ids[name], "0")]
        assert (event["reason"] == "Rejected") == (name not in ACCEPTED), (name, event["message"])
    assert found[(after_id, "0")][0]["reason"] == "Created"

    lie_ids = {request.id: what for what, request, _k, _p in lies if isinstance(request, WriteRequest)}

    async def lies_answered() -> dict[str, list[dict[str, object]]]:
        by_id: dict[str, list[dict[str, object]]] = {}
        events = await answers(settings)
        for event in events:
            request_id = (event["metadata"].get("annotations") or {}).get("kafkube.io/request-id")
            if request_id in lie_ids:
                by_id.setdefault(request_id, []).append(event)
        malformed = [e for e in events if str(e.get("message", "")).startswith("malformed write request")]
        return by_id if len(by_id) == len(lie_ids) and len(malformed) >= 2 else {}

    by_id = await wait_for("answers to the lying requests", lies_answered, timeout=60)
    for request_id, events in by_id.items():
        assert [e["reason"] for e in events] == ["Rejected"], (lie_ids[request_id], events)
    state = await desired(settings, "configmaps")
    assert f"default/{after}" in state
    assert not {"kube-system/b", "default/stray", "default/lie-c", "default/lie-d", "default/lie-e"} & set(state)
    assert all(api.alive() for api in apis), "an API replica stopped"
