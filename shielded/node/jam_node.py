"""A devnet validator process on jamcore's rules: `JamValidator` behind p2p, a slot clock
and JSON-RPC.

`JamValidator` (`jam_validator.py`) is the deterministic core: it imports blocks with
jamcore's `import_block`, authors its Safrole slots, guarantees the pool's packages,
distributes and stores availability shards and assures them. This module only adds what
the graypaper leaves to implementations:

* the slot clock: at the start of each slot (genesis time + slot x slot duration) the core's
  `on_slot`;
* the transport: the core's `Outgoing` messages (JAM-codec encoded, `jam_messages.py`) go
  over the authenticated p2p connections of `p2p.py` to the validators they name; a peer's
  frame is decoded, checked to come from the validator it claims (the `sender` of blocks,
  block requests and bundles is the peer's own index) and handed to the core;
* JSON-RPC on 127.0.0.1 (`jam_rpc.py`).

A peer that sends bytes that do not decode, or claims another validator's index, is scored
and banned for a while, as the other validator process does.

Run with `python -m shielded.node.jam_node --dir DEVNET --index I` (`shielded devnet up
--jam` starts all of a devnet's validators this way).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import time
from pathlib import Path

from shielded.circuits.errors import CircuitError
from shielded.native_pool import NATIVE_POOL_CODE_HASH, NativePool
from shielded.node.genesis import GenesisError, genesis_hash, load_genesis, load_validator_secrets
from shielded.node.jam_chain import ValidatorError
from shielded.node.jam_devnet import POOL_SERVICE_ID, devnet_genesis
from shielded.node.jam_messages import (
    Block,
    Blocks,
    BlocksRequest,
    BundleShare,
    Message,
    MessageError,
    Outgoing,
    decode_message,
    encode_message,
)
from shielded.node.jam_rpc import build_jam_dispatcher
from shielded.node.jam_validator import JamValidator
from shielded.node.p2p import Network, Peer
from shielded.node.rpc_server import RpcServer, SubscriptionHub
from shielded.node.shards import ShardStore
from shielded.node.storage import ChainStore, StorageError

log = logging.getLogger("shielded.jam_node")

RECONNECT_SECONDS = 1.0
MALFORMED_PENALTY = 5
"""Score for bytes that do not decode, or a message that claims another sender."""
BAN_SCORE = 20
BAN_SECONDS = 60.0


def _claimed_sender(message: Message) -> int | None:
    """The validator index a message says it comes from, if it names one."""
    if isinstance(message, Block | Blocks | BlocksRequest | BundleShare):
        return message.sender
    return None


class JamNode:
    """Validator `index` of the devnet in `directory`, on jamcore's rules."""

    def __init__(self, directory: Path, index: int) -> None:
        self.directory = directory
        self.index = index
        self.config = load_genesis(directory)
        if not 0 <= index < len(self.config.validators):
            raise GenesisError(f"no validator {index} in {directory}")
        self.secrets = load_validator_secrets(directory, index)
        self.info = self.config.validators[index]
        self.spec = self.config.chain_spec()
        home = directory / "validators" / str(index)
        genesis = devnet_genesis(directory, self.config)
        self.store = ChainStore(home / "jam-chain.sqlite")
        self.shards = ShardStore(home / "jam-shards.sqlite", self.spec)
        self.validator = JamValidator(
            index,
            self.secrets,
            self.config,
            self.store,
            genesis.natives,
            genesis=genesis.state,
            shards=self.shards,
            pool_service=POOL_SERVICE_ID,
        )
        self.keys = self.config.validator_keys()
        self.index_of = {key: i for i, key in enumerate(self.keys)}
        self.network = Network(
            genesis_hash(self.config),
            self.secrets.signing_key,
            self.keys,
            self._on_frame,
            self._on_connect,
        )
        self.hub = SubscriptionHub(["heads"])
        self.rpc = RpcServer(build_jam_dispatcher(self), self.hub, port=self.info.rpc_port)
        self.peer_faults: dict[bytes, int] = {}
        self.banned: dict[bytes, float] = {}
        self.started = time.time()
        self._stop = asyncio.Event()
        self._last_head = self.validator.head_hash
        pool = genesis.natives.get(NATIVE_POOL_CODE_HASH)
        self.pool = pool if isinstance(pool, NativePool) else None
        self._last_outcome: object = None

    # --- lifecycle ----------------------------------------------------------------------

    async def run(self) -> None:
        await self.network.listen("127.0.0.1", self.info.p2p_port)
        await self.rpc.start()
        log.info(
            "jam validator %d up: p2p %d, rpc %d, head #%d",
            self.index,
            self.info.p2p_port,
            self.info.rpc_port,
            self.validator.chain.head.height,
        )
        tasks = [asyncio.create_task(self._slot_loop()), asyncio.create_task(self._dial_loop())]
        await self._stop.wait()
        for task in tasks:
            task.cancel()
        await self.network.close()
        await self.rpc.stop()
        self.shards.close()
        self.store.close()

    def stop(self) -> None:
        self._stop.set()

    def slot_at(self, now: float) -> int:
        """The slot whose period holds `now` (graypaper section 6.1: slots of P seconds
        from the devnet's genesis time)."""
        return max(0, int((now - self.config.genesis_time) // self.config.slot_duration))

    async def _slot_loop(self) -> None:
        duration = self.config.slot_duration
        while True:
            now = time.time()
            slot = self.slot_at(now)
            next_start = self.config.genesis_time + (slot + 1) * duration
            await asyncio.sleep(max(0.0, next_start - now))
            slot = self.slot_at(time.time() + 0.01)
            try:
                await self.send(self.validator.on_slot(slot))
            except Exception:
                log.exception("slot %d failed", slot)
            self._note_head()

    async def _dial_loop(self) -> None:
        """Keep a connection to every other validator (the lower index dials)."""
        while True:
            for other in self.config.validators:
                key = bytes.fromhex(other.ed25519)
                if other.index <= self.index or key in self.network.peers:
                    continue
                try:
                    await self.network.connect("127.0.0.1", other.p2p_port)
                except Exception as error:  # peer not up yet, or refused us
                    log.debug("dial %d failed: %s", other.index, error)
            await asyncio.sleep(RECONNECT_SECONDS)

    # --- transport ----------------------------------------------------------------------

    async def send(self, outgoing: list[Outgoing]) -> None:
        """Send each message to the connected validators it names (one encoding each)."""
        for item in outgoing:
            encoded = encode_message(item.message, self.spec)
            for recipient in item.to:
                peer = self.network.peers.get(self.keys[recipient])
                if peer is None:
                    continue  # not connected: it catches up from later blocks
                try:
                    await peer.send(encoded)
                except (ConnectionError, RuntimeError):
                    self.network.peers.pop(peer.key, None)

    async def _on_connect(self, peer: Peer) -> None:
        if self._is_banned(peer.key):
            peer.close()

    async def _on_frame(self, peer: Peer, raw: bytes) -> None:
        if self._is_banned(peer.key):
            peer.close()
            return
        try:
            message = decode_message(raw, self.spec)
        except MessageError as error:
            self._penalize(peer, str(error))
            return
        claimed = _claimed_sender(message)
        if claimed is not None and claimed != self.index_of.get(peer.key):
            self._penalize(peer, f"message claims to come from validator {claimed}")
            return
        await self.send(self.validator.on_message(message))
        self._note_head()

    def _penalize(self, peer: Peer, reason: str) -> None:
        score = self.peer_faults.get(peer.key, 0) + MALFORMED_PENALTY
        self.peer_faults[peer.key] = score
        log.warning("peer %s: %s (score %d)", peer.key.hex()[:12], reason, score)
        if score >= BAN_SCORE:
            self.banned[peer.key] = time.time() + BAN_SECONDS
            self.peer_faults.pop(peer.key, None)
            peer.close()

    def _is_banned(self, key: bytes) -> bool:
        until = self.banned.get(key)
        if until is None:
            return False
        if time.time() >= until:
            del self.banned[key]
            return False
        return True

    def _note_head(self) -> None:
        """Log and publish a new head."""
        head = self.validator.chain.head
        if head.hash == self._last_head:
            return
        self._last_head = head.hash
        log.info("head #%d slot %d %s", head.height, head.slot, head.hash.hex()[:12])
        outcome = self.pool.last_outcome if self.pool is not None else None
        if outcome is not None and outcome is not self._last_outcome:
            self._last_outcome = outcome
            for tx_id in outcome.accepted:
                log.info("pool accepted %s", tx_id.hex()[:16])
            for tx_id, reason in outcome.rejected:
                log.info("pool rejected %s: %s", tx_id.hex()[:16], reason)
        self.hub.publish(
            "heads", {"hash": "0x" + head.hash.hex(), "height": head.height, "slot": head.slot}
        )


def main() -> None:
    parser = argparse.ArgumentParser(description="run one devnet validator on jamcore's rules")
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--index", required=True, type=int)
    args = parser.parse_args()
    logging.basicConfig(
        level=os.environ.get("JAM_LOG_LEVEL", "INFO").upper(),
        format=f"%(asctime)s v{args.index} %(levelname)s %(message)s",
    )
    try:
        node = JamNode(args.dir, args.index)
    except (StorageError, GenesisError, ValidatorError, CircuitError) as error:
        log.error("validator %d refuses to start: %s", args.index, error)
        raise SystemExit(2) from None

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, node.stop)
        await node.run()

    asyncio.run(run())


if __name__ == "__main__":
    main()
