"""A devnet validator process: p2p, slot clock, authoring, import, sync and RPC.

Run as `python -m shielded.node.validator --dir DEVNET --index I`. The process
* opens its SQLite chain store (restarting from whatever was committed before a crash),
* listens for validators on its p2p port and dials the others (retrying until they are up),
* at every slot start authors a block if Safrole gives it the slot, imports it, and
  broadcasts it,
* imports blocks from peers; on an unknown parent it asks the sender for the missing
  canonical blocks (sync), so a node that was down catches up,
* produces its Safrole tickets once per epoch and gossips them; authors include them,
* takes part in each epoch's reshare of the finality keys (`resharing.py`) and votes
  with its share of the keys in force,
* serves JSON-RPC on 127.0.0.1 (HTTP `/` and WebSocket `/ws`).

Fault injection (for tests of reorgs and finality stalls) comes from the environment:
JAM_FAULT_PARTITION_UNTIL=<slot> keeps the node off the network until that slot;
JAM_FAULT_EQUIVOCATE=1 (or `one`) sends two blocks for each of its slots to the two halves of
its peers, voting for both (or for one).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from jamcore.block import Extrinsic, header_hash
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
from jamcore.safrole.state import SafroleState, TicketBody, TicketEnvelope
from jamcore.safrole.tickets import ticket_vrf_input
from jamcore.safrole.transition import pending_ring
from jamcore.work.guarantee import ReportGuarantee
from shielded.finality.certificate import Certificate
from shielded.finality.contribution import Vote
from shielded.finality.errors import FinalityError
from shielded.finality.keys import EpochKeys
from shielded.finality.transport import Signed
from shielded.node.assemble import assemble_chain
from shielded.node.chain import FINAL_KEY, InvalidBlock
from shielded.node.faucet import Faucet
from shielded.node.finality_layer import (
    FINALITY_ITEMS,
    KEYS_LOCAL,
    FinalityItems,
)
from shielded.node.genesis import (
    GenesisConfig,
    GenesisError,
    load_genesis,
    load_validator_secrets,
)
from shielded.node.guarantees import (
    FINALITY_SERVICE_ID,
    POOL_SERVICE_ID,
    build_guarantee,
    guarantees_extrinsic,
)
from shielded.node.key_record import ReshareError
from shielded.node.mempool import Mempool, transaction_id
from shielded.node.messages import (
    MAX_BLOCKS_PER_BATCH,
    BlocksRequest,
    Status,
    decode_message,
    encode_message,
)
from shielded.node.node_rpc import build_dispatcher
from shielded.node.p2p import Network, Peer
from shielded.node.pool_layer import COMPACT, POOL_BATCH
from shielded.node.resharing import Resharer
from shielded.node.rpc_server import RpcServer, SubscriptionHub
from shielded.node.storage import ChainStore, StorageError, StoredBlock
from shielded.node.validator_process import (
    INVALID_PENALTY,
    MALFORMED_PENALTY,
    PeerScores,
    every_slot,
    keep_connected,
    run_validator,
)
from shielded.node.voter import Voter
from shielded.notes.address import ShieldedAddress
from shielded.pool_storage import PoolSnapshot
from shielded.transaction import (
    Transaction,
    TransactionError,
)

log = logging.getLogger("shielded.validator")

TICKET_FIRST_PHASE = 2
TICKET_TURNS = 6
"""Validators produce their Safrole tickets in turns over TICKET_TURNS slots."""


class ValidatorNode:
    """One validator of a devnet."""

    def __init__(self, directory: Path, index: int) -> None:
        self.directory = directory
        self.index = index
        self.config: GenesisConfig = load_genesis(directory)
        self.secrets = load_validator_secrets(directory, index)
        self.info = self.config.validators[index]
        self.store = ChainStore(directory / "validators" / str(index) / "chain.sqlite")
        self.chain_id = bytes.fromhex(self.config.chain_id)
        self.epoch_keys = self.config.epoch_keys()
        assembled = assemble_chain(directory, self.config, self.store)
        self.chain, self.pool, self.finality = assembled.chain, assembled.pool, assembled.finality
        self.mempool = Mempool(
            self.store,
            self.chain.head,
            lambda stored: self.pool.transactions(self.chain.decode(stored.block)),
        )
        self.scores = PeerScores()
        self.faucets = Faucet(directory, self.config)
        self.resharer = Resharer(
            self.store,
            self.finality,
            index,
            self.secrets.signing_key,
            self.secrets.key_share,
            self.config.validator_keys(),
        )
        self.voter = Voter(
            self.chain,
            self.chain_id,
            index,
            self._keys_for_block,
            self.resharer.share_for,
            self.epoch_keys.validator_count,
            self.epoch_keys.threshold,
        )
        self.hub = SubscriptionHub(["heads", "finalized"])
        self.network = Network(
            self.chain.genesis_hash,
            self.secrets.signing_key,
            self.config.validator_keys(),
            self._on_message,
            self._on_connect,
        )
        self.rpc = RpcServer(build_dispatcher(self), self.hub, port=self.info.rpc_port)
        self.ticket_pools: dict[int, dict[bytes, ProducedTicket]] = {}
        self.ticket_epoch = -1
        self._tickets_task: asyncio.Task[None] | None = None
        self.partition_until = int(os.environ.get("JAM_FAULT_PARTITION_UNTIL", "0"))
        equivocate = os.environ.get("JAM_FAULT_EQUIVOCATE", "")
        self.equivocate = equivocate in ("1", "one")
        self.vote_both_twins = equivocate == "1"
        """"1": vote for both twin blocks (evidence follows); "one": vote for one only."""
        self.started = time.time()
        self._stop = asyncio.Event()
        self._background: set[asyncio.Future[None]] = set()

    # --- lifecycle ----------------------------------------------------------------------

    async def run(self) -> None:
        # Build the pending validators' ring once up front (it is cached), so the first
        # epoch change or ticket does not stall a slot.
        await asyncio.to_thread(pending_ring, self.chain.state().safrole.pending_validators)
        await self.network.listen("127.0.0.1", self.info.p2p_port)
        await self.rpc.start()
        log.info(
            "validator %d up: p2p %d, rpc %d, head #%d",
            self.index,
            self.info.p2p_port,
            self.info.rpc_port,
            self.chain.head.height,
        )
        tasks = [
            asyncio.create_task(every_slot(self.config, self._on_slot)),
            asyncio.create_task(
                keep_connected(self.network, self.config, self.index, lambda: self.partitioned)
            ),
        ]
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

    async def _on_slot(self, slot: int) -> None:
        await self._reshare_duties(slot)
        self._follow_lock()
        if slot <= self.chain.head.slot:
            return
        if self._tickets_task is None or self._tickets_task.done():
            self._tickets_task = asyncio.create_task(
                self._maybe_produce_tickets(slot, self.chain.state().safrole)
            )
        tickets = self._tickets_for(slot)
        extrinsic, offenders_mark = self._extrinsic(slot)
        try:
            block = self.chain.author_block(
                slot, self.secrets, tickets=tickets, extrinsic=extrinsic,
                offenders_mark=offenders_mark,
            )
        except SafroleError as error:  # a pooled ticket went stale: author without tickets
            log.warning("dropping pooled tickets: %s", error)
            self.ticket_pools.clear()
            block = self.chain.author_block(
                slot, self.secrets, extrinsic=extrinsic, offenders_mark=offenders_mark
            )
        if block is None:
            return
        twin = self._twin(slot, extrinsic) if self.equivocate else None
        outcome = self.chain.import_block(block)
        log.info("authored slot %d #%d %s", slot, self.chain.head.height, outcome.hash.hex()[:12])
        self._publish_head()
        self._after_import()
        self._retry_waiting_votes()
        await self._vote_for_head()
        if self.partitioned:
            return
        if twin is not None:
            await self._equivocate(slot, block, twin)
        else:
            await self.network.broadcast(encode_message("block", block))

    def _twin(self, slot: int, extrinsic: Extrinsic | None) -> bytes | None:
        """Fault injection: another valid block for the same slot and parent (it differs
        in its finality report, so it has another header hash)."""
        if extrinsic is None:
            empty = FINALITY_ITEMS.encode(FinalityItems((), ()))
            guarantee = build_guarantee(
                FINALITY_SERVICE_ID,
                [empty],
                self.chain.refine_context(),
                slot,
                self.index,
                self.secrets.signing_key,
            )
            extrinsic = guarantees_extrinsic([guarantee])
        else:
            extrinsic = None
        return self.chain.author_block(slot, self.secrets, extrinsic=extrinsic)

    async def _equivocate(self, slot: int, block: bytes, twin: bytes) -> None:
        """Send `block` to half the peers and `twin` to the other half, voting for both (or,
        with JAM_FAULT_EQUIVOCATE=one, for `block` only: no vote evidence, a split vote)."""
        peers = sorted(self.network.peers.values(), key=lambda p: p.key)
        for position, peer in enumerate(peers):
            await peer.send(encode_message("block", block if position % 2 == 0 else twin))
        if self.vote_both_twins:
            twin_hash = header_hash(self.chain.decode(twin).header, self.chain.spec)
            await self._vote(slot, twin_hash)
        log.warning("FAULT: equivocated at slot %d", slot)

    # --- finality -----------------------------------------------------------------------

    def _extrinsic(self, slot: int) -> tuple[Extrinsic | None, tuple[bytes, ...]]:
        """The guarantees of a block this validator authors at `slot`: the pool's batch of
        mempool transactions (core 0) and the finality report (core 1)."""
        guarantees = []
        chosen, failed = self.pool.select(self.store, slot, self.mempool.candidates())
        self.mempool.refuse(failed)
        if chosen:
            guarantees.append(
                build_guarantee(
                    POOL_SERVICE_ID,
                    [POOL_BATCH.encode(tuple(chosen))],
                    self.chain.refine_context(),
                    slot,
                    self.index,
                    self.secrets.signing_key,
                )
            )
        finality, offenders = self._finality_guarantee(slot)
        if finality is not None:
            guarantees.append(finality)
        if not guarantees:
            return None, ()
        return guarantees_extrinsic(guarantees), offenders

    def _finality_guarantee(
        self, slot: int
    ) -> tuple[ReportGuarantee | None, tuple[bytes, ...]]:
        """The finality report this validator would carry: the best certificate of a
        canonical block not yet final on chain, and evidence against new offenders."""
        state = self.chain.state()
        on_chain_final = self.store.get(FINAL_KEY)
        final_height = 0
        if on_chain_final is not None:
            final_block = self.store.block(on_chain_final)
            final_height = final_block.height if final_block else 0
        best: Certificate | None = None
        best_height = final_height
        for block_hash, certificate in self.voter.certificates.items():
            target = self.store.block(block_hash)
            if target and self.store.is_canonical(block_hash) and target.height > best_height:
                best, best_height = certificate, target.height
        evidence = []
        offenders = []
        for index, piece in self.voter.evidence.items():
            key = self.config.validator_keys()[index]
            if key not in state.offenders:
                evidence.append(piece.encode())
                offenders.append(key)
        reshare = self.resharer.for_block(slot, state)
        if best is None and not evidence and not reshare:
            return None, ()
        items = FinalityItems((best.encode(),) if best else (), tuple(evidence), tuple(reshare))
        guarantee = build_guarantee(
            FINALITY_SERVICE_ID,
            [FINALITY_ITEMS.encode(items)],
            self.chain.refine_context(),
            slot,
            self.index,
            self.secrets.signing_key,
        )
        return guarantee, tuple(offenders)

    async def _vote_for_head(self) -> None:
        """Vote for the canonical head if the lock rule allows it (`Voter.vote_for_head`)."""
        await self._send_vote(self.voter.vote_for_head())

    async def _vote(self, slot: int, block_hash: bytes) -> None:
        await self._send_vote(self.voter.vote(slot, block_hash))

    async def _send_vote(self, vote: Vote | None) -> None:
        if vote is None:
            return
        self._try_finalize()
        if not self.partitioned:
            await self.network.broadcast(encode_message("contribution", vote.encode()))

    def _follow_lock(self) -> None:
        """Build on the branch the vote lock or the votes choose (`Voter.follow`)."""
        if self.voter.follow():
            log.info("to the branch the votes favour: head #%d", self.chain.head.height)
            self._publish_head()
            self._after_import()

    def _receive_vote(self, vote: Vote) -> bool:
        """Record a vote; False if it is invalid."""
        valid = self.voter.receive(vote)
        self._try_finalize()
        return valid

    def _keys_for_block(self, block_hash: bytes, slot: int) -> tuple[EpochKeys | None, bool]:
        """The keys of the block's state if it is in the store (definitive), else the head's
        for the slot's epoch (a block not imported yet, or a fault-injected twin)."""
        known = self.finality.keys_of(self.store, block_hash)
        if known is not None:
            return known, True
        epoch = slot // self.resharer.epoch_length
        return self.finality.record(self.store).keys_at(epoch), False

    async def _reshare_duties(self, slot: int) -> None:
        """Deal, complain and answer in this epoch's reshare round; gossip what is new."""
        try:
            made = self.resharer.duties(slot, self.chain.state())
        except (FinalityError, ReshareError) as error:
            log.warning("reshare duties at slot %d failed: %s", slot, error)
            return
        if not self.partitioned:
            for message in made:
                await self.network.broadcast(encode_message("reshare", message.encode()))

    def _retry_waiting_votes(self) -> None:
        self.voter.retry_waiting()
        self._try_finalize()

    def _try_finalize(self) -> None:
        for final in self.voter.finalize_certified():
            log.info("final #%d %s", final.height, final.hash.hex()[:12])
            self.hub.publish(
                "finalized", {"hash": final.hash.hex(), "height": final.height, "slot": final.slot}
            )

    # --- pool transactions --------------------------------------------------------------

    def submit_transaction(
        self, raw: bytes, relay_from: bytes | None = None
    ) -> tuple[bytes, str | None]:
        """Refine a transaction against the head and queue and gossip it if it passes;
        returns (tx_id, None) or (tx_id, why it was refused)."""
        tx_id = transaction_id(raw)
        if tx_id in self.mempool:
            return tx_id, None
        # Refine for the first coming slot in the transaction's epoch: a wallet may prove
        # near an epoch boundary for the next epoch; the mempool holds it until then.
        next_slot = max(self.chain.slot_at(time.time()), self.chain.head.slot) + 1
        slot = next_slot
        try:
            epoch = Transaction.decode(raw).epoch
        except TransactionError as error:
            return tx_id, str(error)
        epoch_length = self.chain.spec.epoch_length
        if epoch == next_slot // epoch_length + 1:
            slot = epoch * epoch_length
        _, failed = self.pool.select(self.store, slot, [raw])
        if raw in failed:
            return tx_id, failed[raw]
        if epoch > slot // epoch_length:
            return tx_id, f"transaction is for epoch {epoch}, too far ahead of the chain"
        self.mempool.add(tx_id, raw)
        if not self.partitioned:
            message = encode_message("transaction", raw)
            task = asyncio.ensure_future(self.network.broadcast(message, exclude=relay_from))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        return tx_id, None

    def transaction_status(self, tx_id: bytes) -> dict[str, object]:
        status = dict(self.mempool.status.get(tx_id, {"status": "unknown"}))
        height = status.get("height")
        if status.get("status") == "included" and isinstance(height, int):
            status["final"] = height <= self.chain.finalized.height
            status["canonical"] = self.store.canonical_hash(height) == bytes.fromhex(
                str(status["block"])
            )
        return status

    def _after_import(self) -> None:
        """Bring the mempool to the new head (a reorganisation returns the retracted blocks'
        transactions to it) and prune node-local data below the final block."""
        self.mempool.follow(self.chain.head)
        self.store.prune_local(KEYS_LOCAL, self.chain.finalized.height)

    @property
    def faucet_available(self) -> bool:
        return self.faucets.available

    async def faucet(self, address: ShieldedAddress, amount: int) -> tuple[bytes, str | None]:
        """Deposit `amount` from the faucet account to `address` (`Faucet.deposit`)."""
        return await self.faucets.deposit(self, address, amount)

    # --- the pool as the RPC sees it (`pool_rpc.PoolNode`) ---------------------------

    @property
    def pool_head(self) -> StoredBlock:
        return self.chain.head

    @property
    def epoch_length(self) -> int:
        return self.chain.spec.epoch_length

    def pool_snapshot(self) -> PoolSnapshot:
        return self.pool.head_snapshot(self.store)

    def current_slot(self) -> int:
        return self.chain.slot_at(time.time())

    def spam_anchor(self) -> bytes:
        """Spam proofs bind to a recent block hash here: the head's."""
        return self.chain.head.hash

    def recent_hashes(self) -> list[bytes]:
        return list(self.chain.state().recent_hashes[-8:])

    def compact_blocks(self, from_height: int, count: int) -> list[Any]:
        blocks = []
        for stored in self.store.canonical_range(from_height, count):
            data = self.store.local(stored.hash, COMPACT)
            if data is None:
                break
            blocks.append(json.loads(data))
        return blocks

    def pool_footprint(self) -> tuple[int, int]:
        return (
            self.store.service_item_count(POOL_SERVICE_ID),
            self.store.service_bytes(POOL_SERVICE_ID),
        )

    def mempool_size(self) -> int:
        return len(self.mempool)

    # --- tickets ------------------------------------------------------------------------

    async def _maybe_produce_tickets(self, slot: int, state: SafroleState) -> None:
        """Make this validator's tickets for the contest of `slot`'s epoch (once per epoch)
        against the state before `slot`, and gossip them."""
        epoch, phase = epoch_and_phase(slot, self.chain.spec)
        contest = self.chain.spec.contest_duration
        if epoch <= self.ticket_epoch or phase >= contest:
            return
        # Ring proofs cost about 0.2 s each here. Validators take turns, one per slot from
        # the epoch's third slot, so the epoch change (and the transactions held for the new
        # epoch) does not meet a CPU burst that delays its first blocks and their finality;
        # the contest stays open for several blocks after the last turn.
        turns = max(1, min(TICKET_TURNS, contest - TICKET_FIRST_PHASE - 2))
        if phase < TICKET_FIRST_PHASE + self.index % turns:
            return
        self.ticket_epoch = epoch
        # Ring proofs take a while; the bindings release the GIL, so a thread keeps the slot
        # clock and the network responsive meanwhile.
        try:
            own = await asyncio.to_thread(
                produce_tickets, state, slot, self.secrets.bandersnatch_secret, self.chain.spec
            )
        except (SafroleError, BandersnatchError) as error:
            log.warning("no tickets for epoch %d: %s", epoch, error)
            return
        pool = self.ticket_pools.setdefault(epoch, {})
        for ticket in own:
            pool[ticket.body.id] = ticket
            if not self.partitioned:
                await self.network.broadcast(encode_message("ticket", ticket.envelope))

    def _receive_ticket(self, envelope: TicketEnvelope) -> None:
        """Verify a gossiped ticket for the contest of the current epoch (against that
        epoch's pending ring and eta'_2, eq. 6.29) and pool it by its id."""
        chain_state = self.chain.state()
        state = chain_state.safrole
        if envelope.attempt >= self.chain.spec.tickets_per_validator:
            return
        slot = max(self.chain.slot_at(time.time()), state.slot + 1)
        epoch, _ = epoch_and_phase(slot, self.chain.spec)
        new_epoch = is_new_epoch(state.slot, slot, self.chain.spec)
        pending, _, _ = rotated_validators(state, new_epoch, chain_state.offenders)
        _, entropy2, _ = posterior_history(state.entropy, new_epoch)
        try:
            ticket_id = pending_ring(pending).verify(
                ticket_vrf_input(entropy2, envelope.attempt), b"", envelope.signature
            )
        except (BandersnatchError, SafroleError):
            return
        body = TicketBody(ticket_id, envelope.attempt)
        self.ticket_pools.setdefault(epoch, {})[ticket_id] = ProducedTicket(body, envelope)

    def _tickets_for(self, slot: int) -> tuple[TicketEnvelope, ...]:
        epoch, phase = epoch_and_phase(slot, self.chain.spec)
        self.ticket_pools = {e: p for e, p in self.ticket_pools.items() if e >= epoch}
        pool = self.ticket_pools.get(epoch)
        if phase >= self.chain.spec.contest_duration or not pool:
            return ()
        accumulator = self.chain.state().safrole.ticket_accumulator
        if is_new_epoch(self.chain.head.slot, slot, self.chain.spec):
            accumulator = ()
        return select_tickets(list(pool.values()), accumulator, self.chain.spec)

    # --- network ------------------------------------------------------------------------

    def _status(self) -> bytes:
        head = self.chain.head
        return encode_message(
            "status", Status(head.hash, head.height, self.chain.finalized.hash)
        )

    async def _on_connect(self, peer: Peer) -> None:
        if self.scores.is_banned(peer.key):
            peer.close()
            return
        await peer.send(self._status())

    async def _on_message(self, peer: Peer, raw: bytes) -> None:
        if self.partitioned:
            return
        if self.scores.is_banned(peer.key):
            peer.close()
            return
        try:
            message = decode_message(raw)
        except CodecError:
            self.scores.penalize(peer, "malformed message", MALFORMED_PENALTY)
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
        elif kind == "transaction":
            _, error = self.submit_transaction(payload, relay_from=peer.key)
            if error is not None and error.startswith("malformed"):
                self.scores.penalize(peer, f"malformed transaction: {error}", MALFORMED_PENALTY)
        elif kind == "contribution":
            try:
                vote = Vote.decode(payload)
            except FinalityError:
                self.scores.penalize(peer, "malformed finality vote", MALFORMED_PENALTY)
                return
            if not self._receive_vote(vote):
                self.scores.penalize(peer, "invalid finality vote", INVALID_PENALTY)
        elif kind == "reshare":
            try:
                signed = Signed.decode(payload)
            except FinalityError:
                self.scores.penalize(peer, "malformed reshare message", MALFORMED_PENALTY)
                return
            if signed.signature in self.resharer.pool:
                return  # already pooled and relayed
            if self.resharer.receive(signed):
                await self.network.broadcast(encode_message("reshare", payload), exclude=peer.key)
            else:
                self.scores.penalize(peer, "invalid reshare message", INVALID_PENALTY)

    async def _request_from(self, peer: Peer, height: int) -> None:
        await peer.send(
            encode_message("blocks_request", BlocksRequest(max(1, height), MAX_BLOCKS_PER_BATCH))
        )

    async def _receive_block(self, peer: Peer, encoded: bytes, relay: bool = True) -> bool:
        try:
            outcome = self.chain.import_block(encoded)
        except InvalidBlock as error:
            self.scores.penalize(peer, f"invalid block: {error}", INVALID_PENALTY)
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
            self._retry_waiting_votes()
            self._follow_lock()
            await self._vote_for_head()
            self._try_finalize()
            self._after_import()
            self._follow_lock()
        return True

    def _publish_head(self) -> None:
        head = self.chain.head
        self.hub.publish(
            "heads", {"hash": head.hash.hex(), "height": head.height, "slot": head.slot}
        )


def main() -> None:
    run_validator(
        "run one devnet validator", ValidatorNode, (StorageError, GenesisError)
    )


if __name__ == "__main__":
    main()
