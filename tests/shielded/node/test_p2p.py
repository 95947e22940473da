"""Validator transport: authenticated handshake, framing, broadcast, rejection of strangers."""

from __future__ import annotations

import asyncio

import pytest
from nacl.signing import SigningKey

from shielded.node.p2p import MAX_FRAME, Network, Peer, PeerError, frame, handshake

GENESIS = b"\x01" * 32


def keys(count: int) -> list[SigningKey]:
    return [SigningKey(bytes([i + 1]) * 32) for i in range(count)]


async def _exchange() -> dict[bytes, list[bytes]]:
    signing = keys(3)
    validators = [bytes(k.verify_key) for k in signing]
    inbox: dict[bytes, list[bytes]] = {v: [] for v in validators}
    received = asyncio.Event()

    def handler(own: bytes):
        async def on_message(peer: Peer, payload: bytes) -> None:
            inbox[own].append(peer.key + payload)
            if sum(len(v) for v in inbox.values()) == 2:
                received.set()

        return on_message

    networks = [
        Network(GENESIS, k, v_key, handler(v))
        for k, v, v_key in zip(signing, validators, [validators] * 3, strict=True)
    ]
    port = await networks[0].listen()
    await networks[1].connect("127.0.0.1", port)
    await networks[2].connect("127.0.0.1", port)
    for _ in range(100):
        if len(networks[0].peers) == 2:
            break
        await asyncio.sleep(0.01)
    await networks[0].broadcast(b"block")
    await asyncio.wait_for(received.wait(), 5)
    for network in networks:
        await network.close()
    return inbox


def test_broadcast_reaches_authenticated_peers() -> None:
    inbox = asyncio.run(_exchange())
    hub_key = bytes(keys(3)[0].verify_key)
    for key in list(inbox)[1:]:
        assert inbox[key] == [hub_key + b"block"]


async def _handshake_pair(
    genesis_b: bytes, key_b: SigningKey, validators: list[bytes]
) -> Exception | Peer:
    key_a = keys(1)[0]
    result: dict[str, object] = {}

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            result["a"] = await handshake(reader, writer, GENESIS, key_a, validators)
        except PeerError as error:
            result["a"] = error
            writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await handshake(reader, writer, genesis_b, key_b, validators + [bytes(key_a.verify_key)])
    except PeerError:
        pass
    for _ in range(100):
        if "a" in result:
            break
        await asyncio.sleep(0.01)
    writer.close()
    server.close()
    outcome = result["a"]
    assert isinstance(outcome, Exception | Peer)
    return outcome


def test_invalid_peer_from_another_chain() -> None:
    stranger = keys(2)[1]
    outcome = asyncio.run(
        _handshake_pair(b"\x02" * 32, stranger, [bytes(k.verify_key) for k in keys(2)])
    )
    assert isinstance(outcome, PeerError) and "genesis" in str(outcome)


def test_invalid_peer_not_a_validator() -> None:
    stranger = SigningKey(b"\x99" * 32)
    validators = [bytes(k.verify_key) for k in keys(2)]
    outcome = asyncio.run(_handshake_pair(GENESIS, stranger, validators))
    assert isinstance(outcome, PeerError) and "not a genesis validator" in str(outcome)


def test_valid_peer_is_accepted() -> None:
    peer_key = keys(2)[1]
    validators = [bytes(k.verify_key) for k in keys(2)]
    outcome = asyncio.run(_handshake_pair(GENESIS, peer_key, validators))
    assert isinstance(outcome, Peer) and outcome.key == bytes(peer_key.verify_key)


def test_invalid_oversized_frame() -> None:
    with pytest.raises(PeerError, match="exceeds"):
        frame(b"\x00" * (MAX_FRAME + 1))
