"""Peer-to-peer transport for devnet validators: asyncio TCP, length-prefixed frames,
peers authenticated by their genesis ed25519 keys.

Framing: each frame is E_4(length) followed by `length` payload bytes (JAM-codec encoded
messages, see `messages.py`); frames above `MAX_FRAME` close the connection.

Handshake (both directions at once): each side sends HELLO = genesis hash (32) || its
ed25519 key (32) || a fresh nonce (32), then AUTH = ed25519 signature over
`"jam-shielded/p2p/v1" || genesis || peer nonce || own nonce || own key`. A connection is
accepted only if the genesis matches, the key belongs to a genesis validator other than
ourselves, and the signature verifies: a peer proves possession of its validator key for
this session. Traffic is authenticated at connection setup but not encrypted: devnets run
on localhost.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

log = logging.getLogger(__name__)

MAX_FRAME = 16 * 1024 * 1024
HANDSHAKE_TIMEOUT = 5.0
DOMAIN = b"jam-shielded/p2p/v1"


class PeerError(Exception):
    """A peer broke the protocol: bad handshake, unknown key, oversized frame."""


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    """One length-prefixed frame; PeerError if oversized, IncompleteReadError on EOF."""
    length = int.from_bytes(await reader.readexactly(4), "little")
    if length > MAX_FRAME:
        raise PeerError(f"frame of {length} bytes exceeds the {MAX_FRAME}-byte limit")
    return await reader.readexactly(length)


def frame(payload: bytes) -> bytes:
    """E_4(len) || payload."""
    if len(payload) > MAX_FRAME:
        raise PeerError(f"frame of {len(payload)} bytes exceeds the {MAX_FRAME}-byte limit")
    return len(payload).to_bytes(4, "little") + payload


def _transcript(genesis: bytes, peer_nonce: bytes, own_nonce: bytes, own_key: bytes) -> bytes:
    return DOMAIN + genesis + peer_nonce + own_nonce + own_key


@dataclass(eq=False)
class Peer:
    """An authenticated connection to another validator."""

    key: bytes
    """The peer's ed25519 public key (its identity)."""
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, payload: bytes) -> None:
        async with self.send_lock:
            self.writer.write(frame(payload))
            await self.writer.drain()

    async def receive(self) -> bytes:
        return await read_frame(self.reader)

    def close(self) -> None:
        self.writer.close()


async def handshake(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    genesis: bytes,
    signing_key: SigningKey,
    validators: Collection[bytes],
) -> Peer:
    """Run the mutual handshake; returns the authenticated peer or raises PeerError."""
    own_key = bytes(signing_key.verify_key)
    own_nonce = os.urandom(32)
    writer.write(frame(genesis + own_key + own_nonce))
    await writer.drain()
    try:
        hello = await asyncio.wait_for(read_frame(reader), HANDSHAKE_TIMEOUT)
        if len(hello) != 96:
            raise PeerError("malformed hello")
        peer_genesis, peer_key, peer_nonce = hello[:32], hello[32:64], hello[64:]
        if peer_genesis != genesis:
            raise PeerError("peer is on another chain (genesis mismatch)")
        if peer_key not in validators or peer_key == own_key:
            raise PeerError("peer key is not a genesis validator key")
        signature = signing_key.sign(_transcript(genesis, peer_nonce, own_nonce, own_key))
        writer.write(frame(signature.signature))
        await writer.drain()
        auth = await asyncio.wait_for(read_frame(reader), HANDSHAKE_TIMEOUT)
        try:
            VerifyKey(peer_key).verify(
                _transcript(genesis, own_nonce, peer_nonce, peer_key), auth
            )
        except (BadSignatureError, ValueError) as error:
            raise PeerError("peer failed to prove possession of its key") from error
    except (asyncio.IncompleteReadError, TimeoutError, ConnectionError) as error:
        raise PeerError(f"handshake failed: {type(error).__name__}") from error
    return Peer(peer_key, reader, writer)


MessageHandler = Callable[[Peer, bytes], Awaitable[None]]


class Network:
    """A validator's listening socket and its set of authenticated peers."""

    def __init__(
        self,
        genesis: bytes,
        signing_key: SigningKey,
        validators: Collection[bytes],
        on_message: MessageHandler,
        on_connect: Callable[[Peer], Awaitable[None]] | None = None,
    ) -> None:
        self.genesis = genesis
        self.signing_key = signing_key
        self.validators = frozenset(validators)
        self.on_message = on_message
        self.on_connect = on_connect
        self.peers: dict[bytes, Peer] = {}
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def listen(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await asyncio.start_server(self._accept, host, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def connect(self, host: str, port: int) -> Peer:
        reader, writer = await asyncio.open_connection(host, port)
        return await self._adopt(reader, writer)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._adopt(reader, writer)
        except PeerError as error:
            log.info("rejected inbound peer: %s", error)

    async def _adopt(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Peer:
        try:
            peer = await handshake(reader, writer, self.genesis, self.signing_key, self.validators)
        except PeerError:
            writer.close()
            raise
        previous = self.peers.get(peer.key)
        if previous is not None:
            previous.close()
        self.peers[peer.key] = peer
        task = asyncio.create_task(self._serve(peer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if self.on_connect is not None:
            await self.on_connect(peer)
        return peer

    async def _serve(self, peer: Peer) -> None:
        try:
            while True:
                payload = await peer.receive()
                try:
                    await self.on_message(peer, payload)
                except Exception:
                    log.exception("message handler failed for a message from a peer")
        except (asyncio.IncompleteReadError, ConnectionError, PeerError):
            pass
        finally:
            if self.peers.get(peer.key) is peer:
                del self.peers[peer.key]
            peer.close()

    async def broadcast(self, payload: bytes, exclude: bytes | None = None) -> None:
        """Send to every connected peer (except `exclude`), ignoring peers that went away."""
        for key, peer in list(self.peers.items()):
            if key == exclude:
                continue
            try:
                await peer.send(payload)
            except (ConnectionError, RuntimeError):
                self.peers.pop(key, None)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for peer in list(self.peers.values()):
            peer.close()
        for task in list(self._tasks):
            task.cancel()
        self.peers.clear()
