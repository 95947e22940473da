"""A devnet validator process: p2p, slot clock, authoring, import, sync and RPC.

Run as `python -m shielded.node.validator --dir DEVNET --index I`. The process
* opens its SQLite chain store (restarting from whatever was committed before a crash),
* listens for validators on its p2p port and dials the others (retrying until they are up),
* at every slot start authors a block if Safrole gives it the slot, imports it, and
  broadcasts it,
* imports blocks from peers; on an unknown parent it asks the sender for the missing
  canonical blocks (sync), so a node that was down catches up,
* produces its Safrole tickets once per epoch and gossips them; authors include them,
* serves JSON-RPC on 127.0.0.1 (HTTP `/` and WebSocket `/ws`).

Fault injection (for tests of reorgs and finality stalls) comes from the environment:
JAM_FAULT_PARTITION_UNTIL=<slot> keeps the node off the network until that slot.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import time
from pathlib import Path

from jamcore.codec import CodecError
from jamcore.crypto.bandersnatch import BandersnatchError
from jamcore.safrole.authoring import ProducedTicket, produce_tickets, select_tickets
from jamcore.safrole.epochs import (
    epoch_and_phase,
    is_new_epoch,
    posterior_history,
    rotated_validators,
)
from jamcore.safrole.errors import SafroleError
from jamcore.safrole.state import TicketBody, TicketEnvelope
from jamcore.safrole.tickets import ticket_vrf_input
from jamcore.safrole.transition import pending_ring
from shielded.node.chain import Chain, InvalidBlock
from shielded.node.genesis import GenesisConfig, load_genesis, load_validator_secrets
from shielded.node.messages import (
    MAX_BLOCKS_PER_BATCH,
    BlocksRequest,
    Status,
    decode_message,
    encode_message,
)
from shielded.node.node_rpc import build_dispatcher
from shielded.node.p2p import Network, Peer
from shielded.node.rpc_server import RpcServer, SubscriptionHub
from shielded.node.storage import ChainStore

log = logging.getLogger("shielded.validator")

RECONNECT_SECONDS = 1.0


class ValidatorNode:
    """One validator of a devnet."""

    def __init__(self, directory: Path, index: int) -> None:
        self.directory = directory
        self.index = index
        self.config: GenesisConfig = load_genesis(directory)
        self.secrets = load_validator_secrets(directory, index)
        self.info = self.config.validators[index]
        self.store = ChainStore(directory / "validators" / str(index) / "chain.sqlite")
        self.chain = Chain(self.config, self.store)
        self.hub = SubscriptionHub(["heads", "finalized"])
        self.network = Network(
            self.chain.genesis_hash,
            self.secrets.signing_key,
            self.config.validator_keys(),
            self._on_message,
            self._on_connect,
        )
        self.rpc = RpcServer(build_dispatcher(self), self.hub, port=self.info.rpc_port)
        self.ticket_pool: dict[bytes, ProducedTicket] = {}
        self.ticket_epoch = -1
        self.partition_until = int(os.environ.get("JAM_FAULT_PARTITION_UNTIL", "0"))
        self.started = time.time()
        self._stop = asyncio.Event()

    # --- lifecycle ----------------------------------------------------------------------

    async def run(self) -> None:
        await self.network.listen("127.0.0.1", self.info.p2p_port)
        await self.rpc.start()
        log.info(
            "validator %d up: p2p %d, rpc %d, head #%d",
            self.index,
            self.info.p2p_port,
            self.info.rpc_port,
            self.chain.head.height,
        )
        tasks = [asyncio.create_task(self._slot_loop()), asyncio.create_task(self._dial_loop())]
        await self._stop.wait()
        for task in tasks:
            task.cancel()
        await self.network.close()
        await self.rpc.stop()
        self.store.close()

    def stop(self) -> None:
        self._stop.set()

    @property
    def partitioned(self) -> bool:
        return self.chain.slot_at(time.time()) < self.partition_until

    async def _dial_loop(self) -> None:
        """Keep a connection to every other validator (the lower index dials)."""
        while True:
            if not self.partitioned:
                for other in self.config.validators:
                    key = bytes.fromhex(other.ed25519)
                    if other.index <= self.index or key in self.network.peers:
                        continue
                    try:
                        await self.network.connect("127.0.0.1", other.p2p_port)
                    except (OSError, Exception) as error:  # peer not up yet
                        log.debug("dial %d failed: %s", other.index, error)
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _slot_loop(self) -> None:
        duration = self.config.slot_duration
        while True:
            now = time.time()
            slot = self.chain.slot_at(now)
            next_start = self.config.genesis_time + (slot + 1) * duration
            await asyncio.sleep(max(0.0, next_start - now))
            slot = self.chain.slot_at(time.time() + 0.01)
            try:
                await self._on_slot(slot)
            except Exception:
                log.exception("slot %d failed", slot)

    async def _on_slot(self, slot: int) -> None:
        if slot <= self.chain.head.slot:
            return
        await self._maybe_produce_tickets(slot)
        tickets = self._tickets_for(slot)
        block = self.chain.author_block(slot, self.secrets, tickets=tickets)
        if block is None:
            return
        outcome = self.chain.import_block(block)
        log.info("authored slot %d #%d %s", slot, self.chain.head.height, outcome.hash.hex()[:12])
        self._publish_head()
        if not self.partitioned:
            await self.network.broadcast(encode_message("block", block))

    # --- tickets ------------------------------------------------------------------------

    async def _maybe_produce_tickets(self, slot: int) -> None:
        epoch, phase = epoch_and_phase(slot, self.chain.spec)
        if epoch == self.ticket_epoch or phase >= self.chain.spec.contest_duration:
            return
        self.ticket_epoch = epoch
        self.ticket_pool = {}
        try:
            own = produce_tickets(
                self.chain.state().safrole, slot, self.secrets.bandersnatch_secret, self.chain.spec
            )
        except (SafroleError, BandersnatchError) as error:
            log.warning("no tickets this epoch: %s", error)
            return
        for ticket in own:
            self.ticket_pool[ticket.body.id] = ticket
            if not self.partitioned:
                await self.network.broadcast(encode_message("ticket", ticket.envelope))

    def _receive_ticket(self, envelope: TicketEnvelope) -> None:
        """Verify a gossiped ticket against the pending ring and pool it by its id."""
        chain_state = self.chain.state()
        state = chain_state.safrole
        if envelope.attempt >= self.chain.spec.tickets_per_validator:
            return
        # The ticket is for the contest of the epoch of the next slot: against that epoch's
        # pending ring and eta'_2 (eq. 6.29).
        new_epoch = is_new_epoch(state.slot, self.chain.slot_at(time.time()), self.chain.spec)
        pending, _, _ = rotated_validators(state, new_epoch, chain_state.offenders)
        _, entropy2, _ = posterior_history(state.entropy, new_epoch)
        try:
            ticket_id = pending_ring(pending).verify(
                ticket_vrf_input(entropy2, envelope.attempt), b"", envelope.signature
            )
        except (BandersnatchError, SafroleError):
            return
        body = TicketBody(ticket_id, envelope.attempt)
        self.ticket_pool[ticket_id] = ProducedTicket(body, envelope)

    def _tickets_for(self, slot: int) -> tuple[TicketEnvelope, ...]:
        _, phase = epoch_and_phase(slot, self.chain.spec)
        if phase >= self.chain.spec.contest_duration or not self.ticket_pool:
            return ()
        accumulator = self.chain.state().safrole.ticket_accumulator
        return select_tickets(list(self.ticket_pool.values()), accumulator, self.chain.spec)

    # --- network ------------------------------------------------------------------------

    def _status(self) -> bytes:
        head = self.chain.head
        return encode_message(
            "status", Status(head.hash, head.height, self.chain.finalized.hash)
        )

    async def _on_connect(self, peer: Peer) -> None:
        await peer.send(self._status())

    async def _on_message(self, peer: Peer, raw: bytes) -> None:
        if self.partitioned:
            return
        try:
            message = decode_message(raw)
        except CodecError:
            log.warning("malformed message from a peer")
            return
        kind, payload = message.tag, message.value
        if kind == "block":
            await self._receive_block(peer, payload)
        elif kind == "blocks":
            for encoded in payload:
                if not await self._receive_block(peer, encoded, relay=False):
                    break
        elif kind == "status":
            if payload.height > self.chain.head.height:
                await self._request_from(peer, self.chain.finalized.height + 1)
        elif kind == "blocks_request":
            blocks = self.store.canonical_range(
                payload.from_height, min(payload.count, MAX_BLOCKS_PER_BATCH)
            )
            await peer.send(encode_message("blocks", tuple(b.block for b in blocks)))
        elif kind == "ticket":
            self._receive_ticket(payload)

    async def _request_from(self, peer: Peer, height: int) -> None:
        await peer.send(
            encode_message("blocks_request", BlocksRequest(max(1, height), MAX_BLOCKS_PER_BATCH))
        )

    async def _receive_block(self, peer: Peer, encoded: bytes, relay: bool = True) -> bool:
        try:
            outcome = self.chain.import_block(encoded)
        except InvalidBlock as error:
            log.warning("rejected a block from a peer: %s", error)
            return False
        if outcome.status == "orphan":
            await self._request_from(peer, self.chain.finalized.height + 1)
            return False
        if outcome.status in ("imported", "reorg"):
            log.info(
                "imported #%d %s (%s)",
                self.chain.head.height,
                outcome.hash.hex()[:12],
                outcome.status,
            )
            self._publish_head()
            if relay:
                await self.network.broadcast(encode_message("block", encoded), exclude=peer.key)
        return True

    def _publish_head(self) -> None:
        head = self.chain.head
        self.hub.publish(
            "heads", {"hash": head.hash.hex(), "height": head.height, "slot": head.slot}
        )


def main() -> None:
    parser = argparse.ArgumentParser(description="run one devnet validator")
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--index", required=True, type=int)
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s v{args.index} %(levelname)s %(message)s"
    )
    node = ValidatorNode(args.dir, args.index)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, node.stop)
        await node.run()

    asyncio.run(run())


if __name__ == "__main__":
    main()
