"""The Kafka adapter: connection check, topic creation, record encoding and
producer/consumer construction with Kafkube's defaults. Used by every service."""

from __future__ import annotations

import asyncio
import functools
import random
import struct
import time
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.conn import create_conn
from aiokafka.errors import KafkaConnectionError, KafkaError, SaslAuthenticationFailed
from pydantic import BaseModel

from services.runtime.config import Settings
from services.runtime.errors import KafkaUnavailable, TopicMisconfigured, TopicMissing
from services.runtime.kafka_auth import client_options
from services.runtime.logging import get_logger
from services.runtime.retry import retry_doubling
from services.runtime.topics import TopicSpec

log = get_logger(__name__)

TOPIC_ALREADY_EXISTS = 36
TOPIC_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED = 29, 31
MAX_RECORD_BYTES = str(4 * 1024 * 1024)
Headers = list[tuple[str, bytes]]


def encode(value: BaseModel | dict[str, Any] | None) -> bytes | None:
    """A record value as JSON bytes; None stays None (a tombstone)."""
    if value is None:
        return None
    if isinstance(value, BaseModel):
        return value.model_dump_json(by_alias=True, exclude_none=True).encode()
    return orjson.dumps(value)


def decode(raw: bytes | None) -> Any:
    return None if raw is None else orjson.loads(raw)


MURMUR2_SEED, MURMUR2_M, U32 = 0x9747B28C, 0x5BD1E995, 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (Java's `Utils.murmur2`), as an unsigned 32-bit int. aiokafka's
    is a byte-at-a-time transcription of the Java; this reads the 4-byte words in one
    `struct` call and is about twice as fast (a test checks the two agree)."""
    length = len(data)
    h = MURMUR2_SEED ^ length
    words = length >> 2
    for k in struct.unpack_from(f"<{words}I", data):
        k = (k * MURMUR2_M) & U32
        h = ((h * MURMUR2_M) & U32) ^ (((k ^ (k >> 24)) * MURMUR2_M) & U32)
    tail, base = length & 3, words << 2
    if tail:
        if tail == 3:
            h ^= data[base + 2] << 16
        if tail >= 2:
            h ^= data[base + 1] << 8
        h = ((h ^ data[base]) * MURMUR2_M) & U32
    h ^= h >> 13
    h = (h * MURMUR2_M) & U32
    return h ^ (h >> 15)


@functools.lru_cache(maxsize=32768)
def _key_hash(key: bytes) -> int:
    """Kafka's murmur2 of a key, positive. Kept: a pod's key is hashed at every write of
    it (a request, its desired record, each status) in every process."""
    return murmur2(key) & 0x7FFFFFFF


def partition_for(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner picks for `key` (murmur2)."""
    return _key_hash(key.encode()) % partitions


def key_partitioner(key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
    """aiokafka's DefaultPartitioner (Java's for keyed records), on the kept hashes."""
    if key is None:
        return random.choice(available or all_partitions)
    return all_partitions[_key_hash(key) % len(all_partitions)]


async def wait_for_kafka(settings: Settings) -> None:
    """Return once a broker answers; raise KafkaUnavailable after the timeout."""
    deadline = time.monotonic() + settings.connect_timeout_s
    while True:
        admin = make_admin(settings, request_timeout_ms=5000)
        try:
            await admin.start()
            await admin.describe_cluster()
            return
        except (KafkaConnectionError, KafkaError, OSError) as exc:
            if settings.security_protocol != "PLAINTEXT" and await _credentials_refused(settings):
                # a wrong password does not get better by waiting
                raise KafkaUnavailable(
                    f"Kafka at {settings.bootstrap_servers} refused the credentials of "
                    f"{settings.kafka_username!r} ({exc.__class__.__name__}: {exc}); check "
                    "KAFKUBE_KAFKA_USERNAME and KAFKUBE_KAFKA_PASSWORD(_FILE)"
                ) from exc
            if time.monotonic() >= deadline:
                raise KafkaUnavailable(
                    f"cannot reach Kafka at {settings.bootstrap_servers} within "
                    f"{settings.connect_timeout_s:g}s ({exc.__class__.__name__}: {exc}); "
                    "set KAFKA_BOOTSTRAP_SERVERS to a running broker"
                ) from exc
            await asyncio.sleep(0.5)
        finally:
            await admin.close()


async def ensure_topics(settings: Settings, specs: list[TopicSpec]) -> None:
    """Create the topics that are missing, then check that every topic has the
    right cleanup policy and partition count. Safe to run from many processes."""
    admin = make_admin(settings)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing and not await _create(admin, settings, missing):
            await _wait_created(admin, settings, missing)
        await _check_partitions(admin, settings, specs)
        await _check_policies(admin, specs)
    finally:
        await admin.close()


def _configs(spec: TopicSpec, settings: Settings) -> dict[str, str]:
    configs = {"cleanup.policy": _policy(spec), "max.message.bytes": MAX_RECORD_BYTES}
    if spec.retention_ms is not None:
        configs["retention.ms"] = str(spec.retention_ms)
    if spec.keeps_history:  # `kafkube history` and `get --at` read the versions kept
        configs["min.compaction.lag.ms"] = str(int(settings.history_s * 1000))
    if settings.replication_factor >= 3:  # an acknowledged write survives losing a broker
        configs["min.insync.replicas"] = "2"
    return configs


def _policy(spec: TopicSpec) -> str:
    return "compact" if spec.compacted else "delete"


async def _wait_created(admin: AIOKafkaAdminClient, settings: Settings, specs: list[TopicSpec]) -> None:
    """This principal may not create topics (a locked-down broker: the API's does): wait
    for them to appear, as long as KAFKUBE_CONNECT_TIMEOUT allows."""
    log.info("topics.waiting", count=len(specs), reason="not allowed to create them")
    deadline = time.monotonic() + settings.connect_timeout_s
    while time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        existing = set(await admin.list_topics())
        if all(s.name in existing for s in specs):
            return
    raise TopicMisconfigured(
        f"{len(specs)} of Kafkube's topics (e.g. {specs[0].name}) are missing and Kafka does not let "
        f"{settings.kafka_username or 'this client'} create them: start `kafkube serve api` (its principal "
        "creates them) or the compose `topics` step first")


async def _create(admin: AIOKafkaAdminClient, settings: Settings, specs: list[TopicSpec]) -> bool:
    """Create the topics; False if the broker does not authorise this principal to."""
    new = [
        NewTopic(
            s.name,
            settings.partitions,
            settings.replication_factor,
            topic_configs=_configs(s, settings),
        )
        for s in specs
    ]
    response = await admin.create_topics(new)
    codes = {code for _name, code, *_ in response.topic_errors}
    if codes and codes <= {TOPIC_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED}:
        return False
    for name, code, *_ in response.topic_errors:
        if code not in (0, TOPIC_ALREADY_EXISTS):
            raise TopicMisconfigured(f"cannot create topic {name}: Kafka error code {code}")
    log.info("topics.created", count=len(specs))
    return True


async def _check_partitions(
    admin: AIOKafkaAdminClient, settings: Settings, specs: list[TopicSpec]
) -> None:
    """Topics just created take a moment to show in the metadata (longer on a loaded
    broker): wait for every one, as long as KAFKUBE_CONNECT_TIMEOUT allows."""
    deadline = time.monotonic() + max(5.0, settings.connect_timeout_s)
    while True:
        described = await admin.describe_topics([s.name for s in specs])
        counts = {t["topic"]: len(t["partitions"]) for t in described if not t["error_code"]}
        if len(counts) == len(specs) or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.1)
    wrong = {n: c for n, c in counts.items() if c != settings.partitions}
    if wrong or len(counts) != len(specs):
        raise TopicMisconfigured(
            f"topics must all have {settings.partitions} partitions (KAFKUBE_PARTITIONS); "
            f"found {wrong or 'missing topics'}"
        )


async def _check_policies(admin: AIOKafkaAdminClient, specs: list[TopicSpec]) -> None:
    resources = [
        ConfigResource(ConfigResourceType.TOPIC, s.name, {"cleanup.policy": None})
        for s in specs
    ]
    wanted = {s.name: _policy(s) for s in specs}
    for response in await admin.describe_configs(resources):
        for _code, _msg, _type, name, entries in response.resources:
            policy = next((e[1] for e in entries if e[0] == "cleanup.policy"), None)
            if policy is not None and policy != wanted[name]:
                raise TopicMisconfigured(
                    f"topic {name} has cleanup.policy={policy}, Kafkube needs {wanted[name]}"
                )


async def partitions_of(consumer: AIOKafkaConsumer, topic: str, *, wait_s: float = 10.0) -> set[int]:
    """The partition ids of `topic`, waiting briefly for a just-created topic to show."""
    deadline = time.monotonic() + wait_s
    while True:
        cluster = await consumer._client.fetch_all_metadata()  # fresh, unlike .topics()
        found = cluster.partitions_for_topic(topic)
        if found:
            return set(found)
        if time.monotonic() >= deadline:
            raise TopicMissing(f"topic {topic} does not exist (is the cluster up with this topic prefix? `kafkube serve api` creates the topics)")
        await asyncio.sleep(0.2)


async def _credentials_refused(settings: Settings) -> bool:
    """Does a bootstrap server refuse our SASL login? (aiokafka's bootstrap only logs it.)"""
    options = client_options(settings)
    options.pop("bootstrap_servers")
    for address in settings.bootstrap_servers.split(","):
        host, _, port = address.strip().rpartition(":")
        try:
            conn = await create_conn(host.strip("[]"), int(port), request_timeout_ms=5000, **options)
        except SaslAuthenticationFailed:
            return True
        except (KafkaError, OSError, ValueError, asyncio.TimeoutError):
            continue
        conn.close()
        return False
    return False


def make_admin(settings: Settings, **options: Any) -> AIOKafkaAdminClient:
    """An admin client with the process's Kafka credentials."""
    return AIOKafkaAdminClient(**client_options(settings), **options)


async def bootstrap_patiently(client: Any, patience_s: float) -> None:
    """Reach a broker with aiokafka's `client` (its bootstrap may be repeated), trying
    again after 0.5 s, doubling to 5 s, for up to `patience_s`: a component that starts
    while the broker restarts waits for it instead of ending its process (the services
    ride out a broker restart once they run; this is the same for one just starting).
    aiokafka reports refused credentials the same way, so they too fail only after
    `patience_s`; `serve` and the CLI check them first (`wait_for_kafka`)."""
    await retry_doubling(client.bootstrap, KafkaConnectionError, patience_s=patience_s, on_retry=lambda exc, delay:
                         log.warning("kafka.bootstrap_retry", in_s=delay, error=str(exc)[:200]))


class Producer(AIOKafkaProducer):  # type: ignore[misc]
    """aiokafka's producer, whose start waits out a broker that is away (`bootstrap_patiently`)."""

    def __init__(self, *, patience_s: float, **options: Any) -> None:
        super().__init__(**options)
        self._patience_s = patience_s

    async def start(self) -> None:
        await bootstrap_patiently(self.client, self._patience_s)
        await super().start()


class Consumer(AIOKafkaConsumer):  # type: ignore[misc]
    """aiokafka's consumer, whose start waits out a broker that is away (`bootstrap_patiently`)."""

    def __init__(self, *topics: str, patience_s: float, **options: Any) -> None:
        super().__init__(*topics, **options)
        self._patience_s = patience_s

    async def start(self) -> None:
        await bootstrap_patiently(self._client, self._patience_s)
        await super().start()


def make_producer(settings: Settings, *, transactional_id: str | None = None, linger_ms: int = 2) -> AIOKafkaProducer:
    """An idempotent producer (transactional when given an id). `linger_ms` 0 for one who
    waits for each record's answer (a client's request): under load records still batch
    behind the request in flight, as aiokafka sends one at a time per broker."""
    return Producer(
        patience_s=settings.connect_timeout_s,
        **client_options(settings),
        enable_idempotence=True,
        transactional_id=transactional_id,
        linger_ms=linger_ms,
        # 16 KiB (the default) filled in ~10 pod records: every full batch made `send`
        # wait for the sender (11% of the hollow fleet's CPU in the throughput profile)
        max_batch_size=256 * 1024,
        max_request_size=4 * 1024 * 1024,
        client_id=f"kafkube-{settings.instance}",
        partitioner=key_partitioner,
    )


def make_consumer(settings: Settings, *topics: str, group: str | None = None, **options: Any) -> AIOKafkaConsumer:
    """A read_committed consumer that starts from the beginning and commits by hand."""
    return Consumer(
        *topics,
        patience_s=settings.connect_timeout_s,
        **client_options(settings),
        group_id=settings.group_id(group) if group else None,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        client_id=f"kafkube-{settings.instance}",
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_wait_ms=50,  # the broker's long-poll: bounds the latency of each hop
        fetch_max_bytes=16 * 1024 * 1024,
        **options,
    )
