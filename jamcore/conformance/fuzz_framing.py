"""Framing of the JAM conformance fuzzer protocol: every message travels as E_4(length)
followed by the message's encoding (`jamcore.conformance.fuzz_protocol`), on a Unix stream
socket. A hostile length never makes the reader allocate more than it has received.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

from jamcore.conformance.fuzz_protocol import FrameError, Message, message_codec
from jamcore.spec import ChainSpec

LENGTH_PREFIX_BYTES = 4
MAX_MESSAGE_BYTES = 1 << 27
"""The largest frame a peer accepts (128 MiB); a larger announced length is malformed."""

_RECV_CHUNK = 1 << 16


def frame(encoded: bytes) -> bytes:
    """A message on the wire: E_4(len) followed by the encoded message."""
    # Verify the message is non-empty and within the frame bound.
    if not 0 < len(encoded) <= MAX_MESSAGE_BYTES:
        raise FrameError(f"a message of {len(encoded)} octets cannot be framed")
    return len(encoded).to_bytes(LENGTH_PREFIX_BYTES, "little") + encoded


def _recv_exactly(recv: Callable[[int], bytes], length: int, *, at_boundary: bool) -> bytes | None:
    """`length` octets from `recv`; None on end of stream before the first octet when
    `at_boundary`, FrameError on end of stream part-way."""
    chunks: list[bytes] = []
    received = 0
    while received < length:
        chunk = recv(min(length - received, _RECV_CHUNK))
        if not chunk:
            if at_boundary and received == 0:
                return None
            raise FrameError(f"connection closed after {received} of {length} octets")
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)


def read_frame(recv: Callable[[int], bytes]) -> bytes | None:
    """The next message's octets from a stream (`recv(n)` returns at most n octets, b"" at
    its end); None when the peer closed the stream between messages."""
    prefix = _recv_exactly(recv, LENGTH_PREFIX_BYTES, at_boundary=True)
    if prefix is None:
        return None
    length = int.from_bytes(prefix, "little")
    # Verify the announced length is a possible message.
    if not 0 < length <= MAX_MESSAGE_BYTES:
        raise FrameError(f"frame length {length} outside 1..{MAX_MESSAGE_BYTES}")
    payload = _recv_exactly(recv, length, at_boundary=False)
    assert payload is not None
    return payload


def send_message(sock: socket.socket, message: Message, spec: ChainSpec) -> None:
    """Encode, frame and send one message."""
    sock.sendall(frame(message_codec(spec).encode(message)))


def receive_message(sock: socket.socket, spec: ChainSpec) -> Message | None:
    """The next message from `sock`, or None if the peer closed the connection cleanly."""
    payload = read_frame(sock.recv)
    return None if payload is None else message_codec(spec).decode(payload)
