"""The conformance fuzzer protocol codec (fuzz-v1.asn) against the recorded 0.7.2 session."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jamcore.conformance.fuzz_framing import MAX_MESSAGE_BYTES, frame, read_frame
from jamcore.conformance.fuzz_protocol import (
    AncestryItem,
    ErrorMessage,
    FrameError,
    FuzzProtocolError,
    GetState,
    PeerInfo,
    StateKeyvals,
    StateRoot,
    UndecodableBlock,
    Version,
    message_codec,
)
from jamcore.spec import TINY
from tests.vectors import vector_params

CODEC = message_codec(TINY)
SESSION = "fuzz-proto/no_forks"


def _kind(path: Path) -> str:
    """`00000002_fuzzer_import_block.bin` -> `import_block`."""
    return path.stem.split("_", 2)[2]


@pytest.mark.parametrize("path", vector_params(SESSION, "*.bin"))
def test_recorded_message_round_trips(path: Path) -> None:
    raw = path.read_bytes()
    message = CODEC.decode(raw)
    assert CODEC.name_of(message) == _kind(path)
    assert CODEC.encode(message) == raw


@pytest.mark.parametrize("path", vector_params(SESSION, "*.json"))
def test_json_twin_agrees(path: Path) -> None:
    twin = json.loads(path.read_text())
    message = CODEC.decode(path.with_suffix(".bin").read_bytes())
    assert CODEC.to_json(message) == twin
    assert CODEC.from_json(twin) == message


def test_peer_info_layout() -> None:
    """Tag 0, fuzz-version, features as E_4, jam-version, app-version, then ↕name (fuzz-v1.asn
    order, as in the recorded session; the README's older example swaps the two versions)."""
    message = PeerInfo(1, 2, Version(0, 7, 0), Version(0, 1, 25), "fuzzer")
    encoded = CODEC.encode(message)
    assert encoded == bytes.fromhex("0001020000000007000001190666757a7a6572")
    assert CODEC.decode(encoded) == message


def _stream(data: bytes) -> Callable[[int], bytes]:
    """A recv-like callable over `data`."""
    return io.BytesIO(data).read


def test_frames_round_trip_and_end_cleanly() -> None:
    messages = [StateRoot(bytes(range(32))), ErrorMessage("bad block"), GetState(bytes(32))]
    wire = b"".join(frame(CODEC.encode(m)) for m in messages)
    assert wire[:4] == (33).to_bytes(4, "little")
    recv = _stream(wire)
    decoded = []
    while (payload := read_frame(recv)) is not None:
        decoded.append(CODEC.decode(payload))
    assert decoded == messages


@pytest.mark.parametrize(
    "wire",
    [
        b"\x00\x00\x00\x00",  # zero length
        (MAX_MESSAGE_BYTES + 1).to_bytes(4, "little"),  # too large
        b"\x21\x00",  # prefix cut short
        b"\x21\x00\x00\x00\x02" + bytes(10),  # payload cut short
    ],
)
def test_malformed_frames_are_typed_errors(wire: bytes) -> None:
    with pytest.raises(FrameError):
        read_frame(_stream(wire))


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\x06",  # no such tag
        b"\xfe",
        b"\x02" + bytes(31),  # truncated root
        b"\x02" + bytes(33),  # trailing octet
        b"\xff\x02\xc3\x28",  # error text not UTF-8
        b"\x05\x02" + bytes(31) + b"\x00" + bytes(31) + b"\x00",  # a key given twice
        b"\x05\x05" + bytes(40),  # more keyvals than octets
        b"\x01" + bytes(20),  # truncated initialize
    ],
)
def test_malformed_messages_are_typed_errors(payload: bytes) -> None:
    with pytest.raises(FuzzProtocolError):
        CODEC.decode(payload)


def test_an_undecodable_block_is_its_own_error() -> None:
    with pytest.raises(UndecodableBlock):
        CODEC.decode(b"\x03" + bytes(50))


@pytest.mark.parametrize(
    "twin",
    [[], {"peer_info": 1, "error": "x"}, {"nonsense": 1}, {"state_root": "0x00"}, {"error": 7}],
)
def test_malformed_json_is_a_typed_error(twin: object) -> None:
    with pytest.raises(FuzzProtocolError):
        CODEC.from_json(twin)


HASHES = st.binary(min_size=32, max_size=32)
KEYVALS = st.dictionaries(st.binary(min_size=31, max_size=31), st.binary(max_size=80), max_size=8)
VERSIONS = st.builds(Version, *(st.integers(0, 255),) * 3)
MESSAGES = st.one_of(
    st.builds(
        PeerInfo, st.integers(0, 255), st.integers(0, 2**32 - 1), VERSIONS, VERSIONS, st.text()
    ),
    st.builds(StateRoot, HASHES),
    st.builds(GetState, HASHES),
    st.builds(StateKeyvals, KEYVALS),
    st.builds(ErrorMessage, st.text()),
)


@given(MESSAGES)
def test_messages_round_trip(message: object) -> None:
    encoded = CODEC.encode(message)  # type: ignore[arg-type]
    assert CODEC.decode(encoded) == message
    assert CODEC.from_json(json.loads(json.dumps(CODEC.to_json(message)))) == message  # type: ignore[arg-type]


@given(st.binary(max_size=200))
def test_arbitrary_octets_decode_or_raise_a_typed_error(payload: bytes) -> None:
    try:
        message = CODEC.decode(payload)
    except FuzzProtocolError:
        return
    assert CODEC.encode(message) == payload


def test_ancestry_item_codec() -> None:
    from jamcore.conformance.fuzz_protocol import ANCESTRY_ITEM

    item = AncestryItem(7, bytes(range(32)))
    assert ANCESTRY_ITEM.encode(item) == b"\x07\x00\x00\x00" + bytes(range(32))
    assert ANCESTRY_ITEM.to_json(item) == {"slot": 7, "header_hash": "0x" + bytes(range(32)).hex()}
