"""Record signatures (services/runtime/signing.py) and who may write what
(services/runtime/trust.py): canonical bytes, tampering, rotation, derived keys."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Any
from pathlib import Path

import orjson
import pytest
from hypothesis import given, strategies as st

from services.runtime.config import Settings
from services.runtime.informer import Informer
from services.runtime.signing import (
    SIGNATURE_HEADER, DesiredKeys, KeyEntry, KeyRing, ObservedMasters, canonical, derive, signature_of,
)
from services.runtime.trust import (
    CONTROLLER_MANAGER, SCHEDULER, UNKNOWN, BusKeysError, BusTrust, Verdict, node_identity, observed_verdict,
)

PREFIX = "kt."
HEADERS = (("kafkube.principal", b"alice"), ("kafkube.op", b"apply"), ("other", b"x"))


@dataclass
class Record:
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    partition: int = 0
    offset: int = 0
    topic: str = ""
    timestamp: int = 0


def desired_record(trust: BusTrust, topic: str = "kt.desired.pods", key: str = "default/web",
                   value: bytes | None = b'{"spec":{}}', headers=HEADERS) -> Record:
    return Record(key.encode(), value, trust.sign_desired(topic, key, value, headers), topic=topic)


# -- canonical bytes -----------------------------------------------------------------------

def test_canonical_tells_a_tombstone_from_an_empty_value_and_ignores_foreign_headers() -> None:
    assert canonical("desired.pods", b"k", None) != canonical("desired.pods", b"k", b"")
    assert canonical("desired.pods", b"k", b"v", [("other", b"1")]) == canonical("desired.pods", b"k", b"v")
    signed = [(SIGNATURE_HEADER, b"whatever")]
    assert canonical("desired.pods", b"k", b"v", signed) == canonical("desired.pods", b"k", b"v")


@given(st.lists(st.binary(max_size=8), min_size=4, max_size=4), st.lists(st.binary(max_size=8), min_size=4, max_size=4))
def test_canonical_is_injective(a: list[bytes], b: list[bytes]) -> None:
    """Length prefixes: moving bytes between fields changes the encoding."""
    def enc(parts: list[bytes]) -> bytes:
        return canonical(parts[0].decode("latin-1"), parts[1], parts[2], [("kafkube.h", parts[3])])
    assert (enc(a) == enc(b)) == (a == b)


def test_header_order_counts() -> None:
    one = [("kafkube.a", b"1"), ("kafkube.b", b"2")]
    assert canonical("t", b"k", b"v", one) != canonical("t", b"k", b"v", one[::-1])


# -- desired records -------------------------------------------------------------------------

def test_a_signed_desired_record_passes_and_any_tampering_fails() -> None:
    trust = BusTrust(PREFIX, KeyRing.generate())
    gate = trust.gate(["kt.desired.pods", "kt.desired.secrets"])
    assert gate is not None
    good = desired_record(trust)
    assert gate.admit("kt.desired.pods", "default/web", good)
    tampered = [
        Record(b"default/evil", good.value, good.headers),  # key
        Record(good.key, b'{"spec":{"hostNetwork":true}}', good.headers),  # value
        Record(good.key, None, good.headers),  # turned into a tombstone
        Record(good.key, good.value, (("kafkube.principal", b"mallory"), *good.headers[1:])),  # a header
        Record(good.key, good.value, good.headers[1:]),  # a header dropped
        Record(good.key, good.value, tuple(h for h in good.headers if h[0] != SIGNATURE_HEADER)),  # unsigned
    ]
    for record in tampered:
        assert not gate.admit("kt.desired.pods", "default/web", record)
    assert not gate.admit("kt.desired.secrets", "default/web", good)  # another topic
    assert gate.refused == len(tampered) + 1
    # a header Kafkube does not own may be added without breaking the signature
    assert gate.admit("kt.desired.pods", "default/web", Record(good.key, good.value, (*good.headers, ("x", b"1"))))


def test_the_prefix_is_not_signed() -> None:
    ring = KeyRing.generate()
    record = desired_record(BusTrust("a.", ring), topic="a.desired.pods")
    gate = BusTrust("b.", ring).gate(["b.desired.pods"])
    assert gate is not None and gate.admit("b.desired.pods", "default/web", record)


def test_tombstones_are_signed_too() -> None:
    trust = BusTrust(PREFIX, KeyRing.generate())
    gate = trust.gate(["kt.desired.pods"])
    assert gate is not None
    assert gate.admit("kt.desired.pods", "default/web", desired_record(trust, value=None, headers=()))


def test_rotation_the_first_key_signs_every_key_verifies() -> None:
    old, new = KeyEntry.generate("d"), KeyEntry.generate("d")
    before = BusTrust(PREFIX, KeyRing(desired=(old,)))
    during = BusTrust(PREFIX, KeyRing(desired=(new, old)))
    after = BusTrust(PREFIX, KeyRing(desired=(new,)))
    old_record, new_record = desired_record(before), desired_record(during)
    assert signature_of(new_record.headers).startswith(new.id.encode())  # type: ignore[union-attr]
    gate = during.gate(["kt.desired.pods"])
    assert gate is not None
    assert gate.admit("kt.desired.pods", "default/web", old_record)
    assert gate.admit("kt.desired.pods", "default/web", new_record)
    late = after.gate(["kt.desired.pods"])
    assert late is not None and not late.admit("kt.desired.pods", "default/web", old_record)


def test_desired_keys_reject_garbage_signatures() -> None:
    keys = DesiredKeys([("d1", b"k" * 32)])
    for signature in (None, b"", b"d1", b"d1:", b"d2:" + b"0" * 64, b"\xff\xfe", b"d1:" + b"0" * 64):
        assert not keys.verify(signature, b"data")


# -- observed records ------------------------------------------------------------------------

def observed(trust: BusTrust, identity: str, topic: str, key: str, value: bytes | None = b"{}") -> Record:
    headers = trust.observed_signer(identity).headers(topic, key, value)
    return Record(key.encode(), value, tuple(headers), topic=topic)


def test_a_derived_key_signs_only_for_its_identity() -> None:
    ring = KeyRing.generate()
    n1 = BusTrust(PREFIX, ring.for_writer(node_identity("n1")))
    assert n1.ring is not None and n1.ring.observed_masters == () and n1.ring.desired == ring.desired
    with pytest.raises(BusKeysError, match="system:node:n1"):
        n1.observed_signer(node_identity("n2"))
    # claiming another identity with n1's key fails verification
    masters = ring.masters()
    assert masters is not None
    record = observed(n1, node_identity("n1"), "kt.observed.nodes", "n2")
    forged_sig = record.headers[-1][1].replace(b"system:node:n1", b"system:node:n2")
    data = canonical("observed.nodes", b"n2", b"{}")
    assert masters.verify(record.headers[-1][1], data) == "system:node:n1"
    assert masters.verify(forged_sig, data) is None
    assert derive(bytes.fromhex(ring.observed_masters[0].secret), "system:node:n1") != \
        derive(bytes.fromhex(ring.observed_masters[0].secret), "system:node:n2")


def test_observed_masters_rotate() -> None:
    old, new = KeyEntry.generate("o"), KeyEntry.generate("o")
    signed_old = ObservedMasters([old.pair()]).writer("system:node:a").sign(b"data")
    assert ObservedMasters([new.pair(), old.pair()]).verify(signed_old, b"data") == "system:node:a"
    assert ObservedMasters([new.pair()]).verify(signed_old, b"data") is None


def test_who_may_write_observed_state() -> None:
    n1, n2 = node_identity("n1"), node_identity("n2")
    assert observed_verdict("pods", "d/p", n1, pod_node="n1") is Verdict.ACCEPT
    assert observed_verdict("pods", "d/p", n2, pod_node="n1") is Verdict.REFUSE
    assert observed_verdict("pods", "d/p", SCHEDULER, pod_node="n1") is Verdict.REFUSE
    assert observed_verdict("pods", "d/p", SCHEDULER, pod_node=None) is Verdict.ACCEPT
    assert observed_verdict("pods", "d/p", n1, pod_node=None) is Verdict.HOLD
    assert observed_verdict("pods", "d/p", n1, pod_node=UNKNOWN) is Verdict.HOLD
    assert observed_verdict("pods", "d/p", n1, pod_node=UNKNOWN, tombstone=True) is Verdict.ACCEPT
    assert observed_verdict("pods", "d/p", CONTROLLER_MANAGER, pod_node=UNKNOWN) is Verdict.REFUSE
    assert observed_verdict("nodes", "n1", n1) is Verdict.ACCEPT
    assert observed_verdict("nodes", "n1", n2) is Verdict.REFUSE
    assert observed_verdict("nodes", "n1", CONTROLLER_MANAGER) is Verdict.ACCEPT
    assert observed_verdict("replicasets", "d/rs", CONTROLLER_MANAGER) is Verdict.ACCEPT
    assert observed_verdict("replicasets", "d/rs", n1) is Verdict.REFUSE
    assert observed_verdict("endpoints", "d/svc", SCHEDULER) is Verdict.REFUSE


def test_the_gate_holds_a_pod_status_until_the_desired_pod_names_its_node() -> None:
    trust = BusTrust(PREFIX, KeyRing.generate())
    gate = trust.gate(["kt.desired.pods", "kt.observed.pods"])
    assert gate is not None
    forged = observed(trust, node_identity("n2"), "kt.observed.pods", "d/p")
    status = observed(trust, node_identity("n1"), "kt.observed.pods", "d/p")
    assert not gate.admit("kt.observed.pods", "d/p", status) and gate.held == 1
    assert not gate.admit("kt.observed.pods", "d/p", forged) and gate.held == 2  # both held, in order
    assert gate.refused == 0
    held = gate.released("kt.desired.pods", "d/p", {"spec": {"nodeName": "n1"}})
    assert held == [status, forged] and gate.held == 0  # each judged again now, oldest first
    assert gate.admit("kt.observed.pods", "d/p", held[0])
    assert not gate.admit("kt.observed.pods", "d/p", held[1]) and gate.refused == 1
    assert gate.released("kt.observed.pods", "d/p", None) == []


def test_a_valid_status_held_behind_a_stale_one_from_the_old_node_is_applied() -> None:
    """A pod deleted on node n2 (its node unreachable) comes back under the same name on
    n1; n1's status and then n2's late one for the old pod arrive before the reader has
    seen the new desired pod: n1's is applied, n2's refused (the latest alone was kept,
    so n1's status was lost)."""
    trust = BusTrust(PREFIX, KeyRing.generate())
    view: Informer[Any] = Informer(Settings(), ["kt.desired.pods", "kt.observed.pods"], trust=trust)
    fresh = observed(trust, node_identity("n1"), "kt.observed.pods", "d/p", orjson.dumps({"status": {"phase": "Running"}}))
    stale = observed(trust, node_identity("n2"), "kt.observed.pods", "d/p", orjson.dumps({"status": {"phase": "Pending"}}))
    view._apply("kt.observed.pods", fresh)
    view._apply("kt.observed.pods", stale)
    assert view.get("kt.observed.pods", "d/p") is None  # held: the pod is not seen yet
    view._apply("kt.desired.pods", desired_record(trust, key="d/p", value=orjson.dumps({"spec": {"nodeName": "n1"}})))
    assert view.get("kt.observed.pods", "d/p") == {"status": {"phase": "Running"}}
    assert view.refused == 1


def test_a_gate_over_observed_pods_needs_desired_pods() -> None:
    with pytest.raises(ValueError):
        BusTrust(PREFIX, KeyRing.generate()).gate(["kt.observed.pods"])


def test_a_node_ring_cannot_read_observed_state() -> None:
    node = BusTrust(PREFIX, KeyRing.generate().for_writer(node_identity("n1")))
    with pytest.raises(BusKeysError, match="observed master"):
        node.gate(["kt.observed.nodes"])
    assert node.gate(["kt.desired.pods"]) is not None


def test_an_insecure_bus_neither_signs_nor_checks() -> None:
    trust = BusTrust(PREFIX, None)
    assert trust.gate(["kt.desired.pods"]) is None
    assert trust.sign_desired("kt.desired.pods", "k", b"v", HEADERS) == HEADERS
    assert trust.observed_signer("x").headers("kt.observed.pods", "k", b"v") == []


# -- key files and the keys command ---------------------------------------------------------

def test_keys_init_writes_private_files_and_keeps_the_cluster(tmp_path: Path) -> None:
    from services.cli.keys import init_keys

    target = tmp_path / "keys"
    init_keys(target, ("n1",))
    control = KeyRing.load(target / "control-plane.json")
    init_keys(target, ("n2",))  # a second run adds a node to the same cluster
    assert KeyRing.load(target / "control-plane.json") == control
    for name in ("control-plane.json", "node-n1.json", "node-n2.json"):
        assert stat.S_IMODE(os.stat(target / name).st_mode) == 0o600
    n2 = KeyRing.load(target / "node-n2.json")
    assert n2.writer is not None and n2.writer.identity == "system:node:n2" and not n2.observed_masters
    cp = BusTrust(PREFIX, control)
    record = observed(BusTrust(PREFIX, n2), "system:node:n2", "kt.observed.nodes", "n2")
    gate = cp.gate(["kt.observed.nodes"])
    assert gate is not None and gate.admit("kt.observed.nodes", "n2", record)
    assert "secret" not in repr(control)


def test_bus_trust_refuses_a_process_without_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from services.runtime import buskeys
    from services.runtime.config import Settings

    monkeypatch.setattr(buskeys, "_installed", None)
    monkeypatch.setattr(buskeys, "_trusts", {})
    with pytest.raises(BusKeysError, match="KAFKUBE_BUS_KEYS_FILE.*kafkube keys init"):
        buskeys.bus_trust(Settings(topic_prefix="nokeys."))
    assert buskeys.bus_trust(Settings(topic_prefix="nokeys.", insecure_bus=True)).insecure
    (tmp_path / "bad.json").write_text("{}")
    assert buskeys.bus_trust(Settings(bus_keys_file=str(tmp_path / "bad.json"))).ring == KeyRing()
    with pytest.raises(BusKeysError, match="missing.json"):
        buskeys.bus_trust(Settings(bus_keys_file=str(tmp_path / "missing.json")))
