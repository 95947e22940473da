"""The fuzzer target over a real Unix socket, driven with the recorded 0.7.2 fuzzer session.

Answers are compared as the conformance tooling (minifuzz) compares them: a PeerInfo by
protocol version, JAM version and features; an Error by kind (its text is free-form); every
other answer byte for byte with the recorded target answer.
"""

from __future__ import annotations

import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from jamcore.block import header_hash
from jamcore.conformance.fuzz_framing import frame, read_frame
from jamcore.conformance.fuzz_protocol import (
    FEATURE_ANCESTRY,
    FEATURE_FORK,
    ErrorMessage,
    GetState,
    Initialize,
    PeerInfo,
    StateKeyvals,
    StateRoot,
    message_codec,
)
from jamcore.conformance.fuzz_target import FuzzTargetServer
from jamcore.spec import TINY
from tests.vectors import VECTORS

SESSION = VECTORS / "fuzz-proto" / "no_forks"
CODEC = message_codec(TINY)

pytestmark = pytest.mark.skipif(not SESSION.is_dir(), reason=f"no recorded session in {SESSION}")


@pytest.fixture
def socket_path() -> Iterator[Path]:
    """A running target on a socket in a short temporary directory (AF_UNIX paths are short)."""
    with tempfile.TemporaryDirectory(prefix="jamfuzz") as directory:
        path = Path(directory) / "target.sock"
        server = FuzzTargetServer(path, TINY)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield path
        finally:
            server.close()
            thread.join(timeout=5)


def _connect(path: Path) -> socket.socket:
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(120)
    client.connect(str(path))
    return client


def _exchange(client: socket.socket, payload: bytes) -> bytes | None:
    """Send one framed message; the answer's octets, or None if the target hung up."""
    client.sendall(frame(payload))
    return read_frame(client.recv)


def _recorded(kind: str) -> list[Path]:
    return sorted(SESSION.glob(f"*_{kind}_*.bin"))


def _handshake(client: socket.socket) -> PeerInfo:
    answer = _exchange(client, _recorded("fuzzer")[0].read_bytes())
    assert answer is not None
    info = CODEC.decode(answer)
    assert isinstance(info, PeerInfo)
    return info


def _check_answer(answer: bytes | None, expected: bytes) -> None:
    assert answer is not None, "the target closed the connection"
    got, want = CODEC.decode(answer), CODEC.decode(expected)
    if isinstance(want, PeerInfo):
        assert isinstance(got, PeerInfo)
        assert got.fuzz_version == want.fuzz_version
        assert got.jam_version == want.jam_version
        assert got.fuzz_features & ~(FEATURE_ANCESTRY | FEATURE_FORK) == 0
    elif isinstance(want, ErrorMessage):
        assert isinstance(got, ErrorMessage), got
    else:
        assert answer == expected, (got, want)


def test_handshake(socket_path: Path) -> None:
    with _connect(socket_path) as client:
        answer = _exchange(client, _recorded("fuzzer")[0].read_bytes())
        _check_answer(answer, _recorded("target")[0].read_bytes())


def test_a_request_before_the_handshake_ends_the_session(socket_path: Path) -> None:
    with _connect(socket_path) as client:
        assert _exchange(client, CODEC.encode(GetState(bytes(32)))) is None
    with _connect(socket_path) as client:  # the server goes on serving
        _handshake(client)


@pytest.mark.parametrize(
    "wire", [b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\x01\x00\x00\x00\x09", b"\x05\x00"]
)
def test_a_malformed_frame_ends_only_its_session(socket_path: Path, wire: bytes) -> None:
    with _connect(socket_path) as client:
        _handshake(client)
        client.sendall(wire)
        client.shutdown(socket.SHUT_WR)
        assert read_frame(client.recv) is None
    with _connect(socket_path) as client:
        _handshake(client)


def test_blocks_without_a_known_parent_or_undecodable_are_errors(socket_path: Path) -> None:
    with _connect(socket_path) as client:
        _handshake(client)
        block = _recorded("fuzzer")[2].read_bytes()
        for request in (block, b"\x03" + bytes(60)):
            answer = _exchange(client, request)
            assert answer is not None and isinstance(CODEC.decode(answer), ErrorMessage)
        # The session goes on after an Error.
        answer = _exchange(client, CODEC.encode(GetState(bytes(32))))
        assert answer is not None and isinstance(CODEC.decode(answer), ErrorMessage)


def test_initialize_then_get_state(socket_path: Path) -> None:
    initialize_bytes = _recorded("fuzzer")[1].read_bytes()
    initialize = CODEC.decode(initialize_bytes)
    assert isinstance(initialize, Initialize)
    with _connect(socket_path) as client:
        _handshake(client)
        _check_answer(_exchange(client, initialize_bytes), _recorded("target")[1].read_bytes())
        request = CODEC.encode(GetState(header_hash(initialize.header, TINY)))
        answer = _exchange(client, request)
        assert answer is not None
        state = CODEC.decode(answer)
        assert isinstance(state, StateKeyvals)
        assert state.keyvals == initialize.keyvals
        assert list(state.keyvals) == sorted(state.keyvals)


def test_recorded_session(socket_path: Path) -> None:
    requests, answers = _recorded("fuzzer"), _recorded("target")
    assert len(requests) == len(answers)
    with _connect(socket_path) as client:
        for request, expected in zip(requests, answers, strict=True):
            _check_answer(_exchange(client, request.read_bytes()), expected.read_bytes())
        # The head state is served back with the root the target answered.
        last = CODEC.decode(requests[-1].read_bytes())
        answer = _exchange(client, CODEC.encode(GetState(header_hash(last.block.header, TINY))))
        assert answer is not None
        state = CODEC.decode(answer)
        assert isinstance(state, StateKeyvals)
        from jamcore.state.merklization import state_root

        root = CODEC.decode(answers[-1].read_bytes())
        assert isinstance(root, StateRoot)
        assert state_root(state.keyvals) == root.root


def test_known_headers_walk_the_chain_of_a_block() -> None:
    from jamcore.conformance.fuzz_protocol import AncestryItem
    from jamcore.conformance.fuzz_target import KnownHeaders

    headers = KnownHeaders()
    genesis, old = b"\x01" * 32, b"\x02" * 32
    headers.reset((AncestryItem(1, old),), genesis, 2)
    a, b, fork = b"\x0a" * 32, b"\x0b" * 32, b"\x0f" * 32
    headers.add(a, 3, genesis)
    headers.add(b, 4, a)
    headers.add(fork, 4, genesis)
    on_b = headers.ancestry_of(b)
    assert on_b.holds(b, 4) and on_b.holds(a, 3) and on_b.holds(genesis, 2) and on_b.holds(old, 1)
    assert not on_b.holds(fork, 4)  # a header of another branch
    assert not on_b.holds(a, 4)  # the right hash at the wrong slot
    assert not headers.ancestry_of(fork).holds(a, 3)
