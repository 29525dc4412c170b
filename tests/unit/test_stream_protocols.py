"""The pure parts of exec, attach and port-forward: the channel frames
(`services.runtime.remotecommand`), stream tickets (`services.runtime.stream_tickets`)
and what the apiserver makes of a request (`services.apiserver.streams`)."""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import MultiDict

from services.apiserver import discovery
from services.apiserver.streams import StreamRefused, kubelet_address, stream_ticket
from services.runtime import remotecommand as rc
from services.runtime import spdy
from services.runtime.signing import KeyRing
from services.runtime.stream_tickets import SeenNonces, StreamTicket, TicketRefused, open_ticket, seal, ticket_key
from services.runtime.trust import BusTrust

POD = {"metadata": {"name": "web", "namespace": "default", "uid": "u1"},
       "spec": {"nodeName": "n1", "containers": [{"name": "main"}, {"name": "side"}]},
       "status": {"phase": "Running"}}


@given(st.integers(0, 255), st.binary(max_size=512))
def test_a_frame_parses_back_to_its_channel_and_data(channel: int, data: bytes) -> None:
    assert rc.parse(rc.frame(channel, data)) == rc.Frame(channel, data)


@given(st.binary(min_size=1, max_size=64))
def test_any_message_is_a_frame_of_its_first_byte(message: bytes) -> None:
    parsed = rc.parse(message)
    assert rc.frame(parsed.channel, parsed.data) == message


def test_empty_messages_close_frames_and_resizes() -> None:
    with pytest.raises(rc.FrameError):
        rc.parse(b"")
    assert rc.closed_channel(b"\x00") == rc.STDIN
    with pytest.raises(rc.FrameError):
        rc.closed_channel(b"")
    assert rc.terminal_size(b'{"Width": 80, "Height": 24}') == (80, 24)
    for bad in (b"{}", b"nope", b'{"Width": -1, "Height": 2}'):
        with pytest.raises(rc.FrameError):
            rc.terminal_size(bad)


def test_exit_statuses_are_what_client_go_reads() -> None:
    assert json.loads(rc.exit_status(("true",), 0)) == {"metadata": {}, "status": "Success"}
    failed = json.loads(rc.exit_status(("sh", "-c", "exit 3"), 3))
    assert failed["reason"] == "NonZeroExitCode" and failed["details"]["causes"] == [{"reason": "ExitCode",
                                                                                      "message": "3"}]


def ticket(**changes: object) -> StreamTicket:
    base = StreamTicket(node="n1", verb="exec", namespace="default", pod="web", container="main", command=("id",),
                        user="alice", expires=1000.0, nonce="abc")
    return base.model_copy(update=changes)


def test_a_ticket_opens_only_with_its_nodes_key_on_its_node_before_it_expires() -> None:
    trust = BusTrust("t.", KeyRing.generate())
    key, other = ticket_key(trust, "n1"), ticket_key(trust, "n2")
    assert key is not None and other is not None and key != other
    sealed = seal(ticket(), key)
    tampered = sealed[:-1] + ("1" if sealed.endswith("0") else "0")
    assert open_ticket(sealed, key, node="n1", now=999.0) == ticket()
    for text, k, node, now in ((sealed, other, "n1", 999.0), (sealed, key, "n2", 999.0), (sealed, key, "n1", 1001.0),
                               (None, key, "n1", 0.0), (tampered, key, "n1", 0.0)):
        with pytest.raises(TicketRefused):
            open_ticket(text, k, node=node, now=now)
    assert ticket_key(BusTrust("t.", None), "n1") is None  # an insecure bus serves no streams


def test_the_node_derives_the_same_key_from_its_own_key_file() -> None:
    ring = KeyRing.generate()
    node_ring = ring.for_writer("system:node:n1")
    assert ticket_key(BusTrust("t.", node_ring), "n1") == ticket_key(BusTrust("t.", ring), "n1")


def test_a_ticket_is_used_once() -> None:
    seen = SeenNonces()
    assert seen.first_use(ticket(), now=10.0) and not seen.first_use(ticket(), now=11.0)
    assert seen.first_use(ticket(nonce="other"), now=11.0)


def test_the_apiserver_builds_the_ticket_from_the_query() -> None:
    query = MultiDict([("command", "sh"), ("command", "-c"), ("command", "exit 3"), ("container", "side"),
                       ("stdin", "true"), ("stdout", "true"), ("stderr", "false"), ("tty", "false")])
    made = stream_ticket(POD, "exec", query, user="alice", now=0.0, nonce="n")
    assert (made.node, made.container, made.command, made.stdin, made.stderr, made.uid) == \
        ("n1", "side", ("sh", "-c", "exit 3"), True, False, "u1")
    forward = stream_ticket(POD, "portforward", MultiDict([("ports", "8080,9090")]), user="a", now=0.0, nonce="n")
    assert forward.ports == (8080, 9090)


@pytest.mark.parametrize(("pod", "verb", "query", "message"), [
    (POD, "exec", [("container", "main")], "you must specify at least 1 command"),
    (POD, "exec", [("command", "id")], "a container name must be specified for pod web, choose one of: [main side]"),
    (POD, "exec", [("command", "id"), ("container", "x")], "container x is not valid for pod web"),
    (POD, "attach", [("container", "main"), ("stdout", "false"), ("stderr", "false")],
     "you must specify at least 1 of stdin, stdout, stderr"),
    ({**POD, "status": {"phase": "Succeeded"}}, "exec", [("command", "id")],
     "cannot exec into a container in a completed pod; current phase is Succeeded"),
    ({**POD, "spec": {}}, "exec", [("command", "id")], "pod web does not have a host assigned"),
    (POD, "portforward", [("ports", "http")], "unable to parse port"),
    (POD, "portforward", [("ports", "0")], "a port is in 1-65535"),
])
def test_requests_kube_apiserver_refuses(pod: dict[str, object], verb: str, query: list[tuple[str, str]],
                                         message: str) -> None:
    with pytest.raises(StreamRefused, match=message.replace("[", r"\[").replace("]", r"\]")) as refused:
        stream_ticket(pod, verb, MultiDict(query), user="a", now=0.0, nonce="n")  # type: ignore[arg-type]
    assert refused.value.reason == "BadRequest"


def test_the_kubelet_is_found_in_the_nodes_status() -> None:
    node = {"status": {"addresses": [{"type": "Hostname", "address": "n1"}, {"type": "InternalIP", "address": "10.0.0.5"}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}}
    assert kubelet_address(node, "n1") == ("10.0.0.5", 10250)
    with pytest.raises(StreamRefused) as refused:
        kubelet_address({"status": {"addresses": []}}, "n1")
    assert refused.value.reason == "ServiceUnavailable"


def test_pods_exec_and_attach_are_discovered() -> None:
    core = discovery.resource_list("", "v1")
    assert core is not None
    listed = {r["name"]: (r["kind"], r["verbs"]) for r in core["resources"]}
    assert listed["pods/exec"] == ("PodExecOptions", ["create", "get"])
    assert listed["pods/attach"] == ("PodAttachOptions", ["create", "get"])
    assert listed["pods/portforward"] == ("PodPortForwardOptions", ["create", "get"])


data_frames = st.builds(spdy.DataFrame, st.integers(1, 0x7FFFFFFF), st.sampled_from([0, spdy.FLAG_FIN]),
                        st.binary(max_size=300))
control_frames = st.builds(spdy.ControlFrame, st.sampled_from([spdy.SYN_STREAM, spdy.SYN_REPLY, spdy.RST_STREAM,
                                                               spdy.PING, spdy.GOAWAY, spdy.WINDOW_UPDATE]),
                           st.integers(0, 255), st.binary(max_size=300))


@given(st.lists(st.one_of(data_frames, control_frames), max_size=8), st.data())
def test_spdy_frames_survive_any_chunking(frames: list[spdy.Frame], data: st.DataObject) -> None:
    stream = b"".join(spdy.encode(f) for f in frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    buffer, parsed = spdy.FrameBuffer(), []
    for start, end in zip([0, *cuts], [*cuts, len(stream)]):
        parsed += buffer.feed(stream[start:end])
    assert parsed == frames


@given(st.lists(st.dictionaries(st.text("abcdefghij-", min_size=1, max_size=12), st.text(max_size=40), max_size=5),
                max_size=5))
def test_header_blocks_decompress_in_sequence_with_the_spdy_dictionary(blocks: list[dict[str, str]]) -> None:
    sender, receiver = spdy.HeaderCodec(), spdy.HeaderCodec()
    for headers in blocks:  # one zlib stream per direction, flushed per block
        assert receiver.decompress(sender.compress(headers)) == headers


def test_a_syn_stream_and_the_reply() -> None:
    sender, receiver = spdy.HeaderCodec(), spdy.HeaderCodec()
    block = sender.compress({"streamtype": "data", "port": "8080", "requestid": "0"})
    frame = spdy.control_frame(spdy.SYN_STREAM, struct.pack(">IIBB", 3, 0, 0, 0) + block)
    (parsed,) = spdy.FrameBuffer().feed(frame)
    assert isinstance(parsed, spdy.ControlFrame) and parsed.stream_id == 3
    assert spdy.syn_stream_headers(parsed, receiver) == {"streamtype": "data", "port": "8080", "requestid": "0"}
    (reply,) = spdy.FrameBuffer().feed(spdy.syn_reply(3, receiver))
    assert isinstance(reply, spdy.ControlFrame) and (reply.type, reply.stream_id) == (spdy.SYN_REPLY, 3)
    assert sender.decompress(reply.payload[4:]) == {}
    with pytest.raises(spdy.SpdyError):
        spdy.FrameBuffer().feed(b"\x80\x02\x00\x01\x00\x00\x00\x00")  # SPDY/2
    with pytest.raises(spdy.SpdyError):
        receiver.decompress(b"not zlib")
