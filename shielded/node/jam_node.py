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
* OSST finality as on the other validator program (`voter.Voter`: the vote lock, the branch
  to build on, certificates; a certified block is final at once): after each move of the
  head the validator votes for it and sends the vote to everyone. The keys are reshared at
  every epoch change through the finality service (`jam_finality`,
  `shielded.native_finality`): each slot the validator's round duties (deal, complain,
  answer) become work items for it, and a vote verifies against the keys in force at its
  block;
* the making of its Safrole tickets off the event loop (`jam_tickets`: ring proofs);
* JSON-RPC on 127.0.0.1 (`jam_rpc.py`).

Fault injection: JAM_FAULT_PARTITION_UNTIL=<slot> keeps the validator off the network (it
sends and hears nothing, and dials no one) until that slot; it goes on authoring and voting
on its own branch meanwhile. JAM_FAULT_EQUIVOCATE=1 makes it send two valid blocks for each
of its slots (same parent, different extrinsics) to the two halves of its peers and vote
for both; `=one` votes for one only. Two conflicting votes of one validator are evidence:
a validator holding it sends it to the finality service (`shielded.native_finality`), whose
refine verifies it and whose accumulate records the offender in the state.

A peer that sends bytes that do not decode, or claims another validator's index, is scored
and banned for a while (`validator_process.PeerScores`).

Run with `python -m shielded.node.jam_node --dir DEVNET --index I` (`shielded devnet up`
starts all of a devnet's validators this way).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path

from jamcore.block import header_hash
from shielded.circuits.errors import CircuitError
from shielded.finality.contribution import Vote
from shielded.finality.errors import FinalityError
from shielded.native_finality import evidence_payload, proven_offenders
from shielded.native_pool import NATIVE_POOL_CODE_HASH, NativePool
from shielded.node.faucet import Faucet
from shielded.node.genesis import GenesisError, genesis_hash, load_genesis, load_validator_secrets
from shielded.node.jam_chain import ValidatorError
from shielded.node.jam_devnet import (
    FINALITY_SERVICE_ID,
    POOL_SERVICE_ID,
    REGISTRAR_SERVICE_ID,
    devnet_genesis,
)
from shielded.node.jam_finality import JamFinality, ServiceRound
from shielded.node.jam_messages import (
    Block,
    Blocks,
    BlocksRequest,
    BundleShare,
    FinalityVote,
    Message,
    MessageError,
    Outgoing,
    decode_message,
    encode_message,
)
from shielded.node.jam_pool_node import PoolNodeRole
from shielded.node.jam_pool_view import JamPoolView
from shielded.node.jam_rpc import build_jam_dispatcher
from shielded.node.jam_services import ServiceError
from shielded.node.jam_validator import JamValidator
from shielded.node.p2p import Network, Peer
from shielded.node.rpc_server import RpcServer, SubscriptionHub
from shielded.node.shards import ShardStore
from shielded.node.storage import ChainStore, StorageError
from shielded.node.validator_process import (
    INVALID_PENALTY,
    MALFORMED_PENALTY,
    PeerScores,
    every_slot,
    keep_connected,
    run_validator,
)
from shielded.node.voter import Voter

log = logging.getLogger("shielded.jam_node")

def _claimed_sender(message: Message) -> int | None:
    """The validator index a message says it comes from, if it names one."""
    if isinstance(message, Block | Blocks | BlocksRequest | BundleShare):
        return message.sender
    return None



class JamNode(PoolNodeRole):
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
            registrar=REGISTRAR_SERVICE_ID,
        )
        self.genesis_keys = self.config.epoch_keys()
        self.keys = self.config.validator_keys()
        self.finality = JamFinality(
            self.store,
            ServiceRound(
                bytes.fromhex(self.config.chain_id),
                self.genesis_keys,
                self.spec.epoch_length,
                self.keys,
                FINALITY_SERVICE_ID,
                self.validator.head_state,
            ),
            index,
            self.secrets.signing_key,
            self.secrets.key_share,
        )
        self.voter = Voter(
            self.validator.chain,
            bytes.fromhex(self.config.chain_id),
            index,
            self.finality.keys_for_block,
            self.finality.share_for,
            self.genesis_keys.validator_count,
            self.genesis_keys.threshold,
        )
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
        self.scores = PeerScores()
        self.started = time.time()
        self.partition_until = int(os.environ.get("JAM_FAULT_PARTITION_UNTIL", "0"))
        """Fault injection: off the network (nothing sent or heard) before this slot."""
        equivocate = os.environ.get("JAM_FAULT_EQUIVOCATE", "")
        self.validator.equivocate = equivocate in ("1", "one")
        self.vote_both_twins = equivocate == "1"
        """"1": vote for both twin blocks (evidence follows); "one": vote for one only."""
        self.reported_offenders: set[int] = set()
        """Validators whose equivocation evidence this one sent to the finality service."""
        self._stop = asyncio.Event()
        self._tickets_task: asyncio.Task[None] | None = None
        self._last_head = self.validator.head_hash
        pool = genesis.natives.get(NATIVE_POOL_CODE_HASH)
        self.pool = pool if isinstance(pool, NativePool) else None
        self._last_outcome: object = None
        self.pool_view = JamPoolView(
            self.validator.chain, genesis.pool_config, POOL_SERVICE_ID, self._rejections
        )
        self.faucets = Faucet(directory, self.config)
        chain = self.validator.chain
        chain.local_of = self.finality.with_keys(chain.local_of)

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
        self.shards.close()
        self.store.close()

    def stop(self) -> None:
        self._stop.set()

    def slot_at(self, now: float) -> int:
        return self.config.slot_at(now)

    @property
    def partitioned(self) -> bool:
        return self.slot_at(time.time()) < self.partition_until

    async def _on_slot(self, slot: int) -> None:
        self._follow_votes()
        outgoing = self._reshare_duties(slot)
        outgoing += self.validator.on_slot(slot)
        self._make_tickets(slot)
        twin = self.validator.twin
        self.validator.twin = None
        if twin is not None and twin[0] == slot and not self.partitioned:
            outgoing = await self._equivocate(slot, outgoing, twin[1])
        await self.send(outgoing)
        await self._after_move()

    def _make_tickets(self, slot: int) -> None:
        """Make this validator's Safrole tickets when its turn comes (`jam_tickets`), on a
        thread (the ring proofs release the GIL), so the slot clock, the network and the
        RPC stay responsive; then pool and gossip them."""
        if self._tickets_task is not None and not self._tickets_task.done():
            return
        work = self.validator.ticket_work(slot)
        if work is None:
            return

        async def make() -> None:
            tickets = await asyncio.to_thread(work)
            log.info("made %d tickets for the contest of slot %d", len(tickets), slot)
            await self.send(self.validator.tickets_made(slot, tickets))

        self._tickets_task = asyncio.create_task(make())

    async def _equivocate(self, slot: int, outgoing: list[Outgoing], twin: bytes) -> list[Outgoing]:
        """Fault injection: the block this validator authored goes to half of the other
        validators and its twin (`JamValidator._seal_twin`) to the other half; with
        JAM_FAULT_EQUIVOCATE=1 it votes for the twin too (evidence follows), with `one`
        for its own block only (a split vote, no evidence)."""
        others = [i for i in range(len(self.keys)) if i != self.index]
        split: list[Outgoing] = []
        for item in outgoing:
            if isinstance(item.message, Block) and item.message.sender == self.index:
                split.append(Outgoing(tuple(others[0::2]), item.message))
                split.append(Outgoing(tuple(others[1::2]), Block(self.index, twin)))
            else:
                split.append(item)
        if self.vote_both_twins:
            twin_hash = header_hash(self.validator.chain.decode(twin).header, self.spec)
            for voted in (self.validator.chain.head.hash, twin_hash):
                vote = self.voter.vote(slot, voted)
                if vote is not None:
                    split.append(Outgoing(tuple(others), FinalityVote(vote.encode())))
        log.warning("FAULT: equivocated at slot %d", slot)
        return split

    # --- transport ----------------------------------------------------------------------

    async def send(self, outgoing: list[Outgoing]) -> None:
        """Send each message to the connected validators it names (one encoding each);
        nothing while partitioned (fault injection)."""
        if self.partitioned:
            return
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
        if self.scores.is_banned(peer.key):
            peer.close()

    async def _on_frame(self, peer: Peer, raw: bytes) -> None:
        if self.partitioned:
            return
        if self.scores.is_banned(peer.key):
            peer.close()
            return
        try:
            message = decode_message(raw, self.spec)
        except MessageError as error:
            self.scores.penalize(peer, str(error), MALFORMED_PENALTY)
            return
        claimed = _claimed_sender(message)
        if claimed is not None and claimed != self.index_of.get(peer.key):
            self.scores.penalize(
                peer, f"message claims to come from validator {claimed}", MALFORMED_PENALTY
            )
            return
        if isinstance(message, FinalityVote):
            self._on_vote(peer, message)
            await self.send(self._report_offenders())
            return
        await self.send(self.validator.on_message(message))
        await self._after_move()

    # --- finality -----------------------------------------------------------------------

    def _reshare_duties(self, slot: int) -> list[Outgoing]:
        """The reshare round messages this validator owes at `slot`, as work items for
        the finality service (`jam_finality`)."""
        outgoing: list[Outgoing] = []
        for payload in self.finality.duties(slot):
            try:
                outgoing += self.validator.submit_work(FINALITY_SERVICE_ID, payload)
            except ServiceError as error:
                log.warning("reshare message not sent: %s", error)
        return outgoing

    def _on_vote(self, peer: Peer, message: FinalityVote) -> None:
        try:
            vote = Vote.decode(message.vote)
        except FinalityError as error:
            self.scores.penalize(peer, f"malformed finality vote: {error}", MALFORMED_PENALTY)
            return
        if not self.voter.receive(vote):
            self.scores.penalize(peer, "invalid finality vote", INVALID_PENALTY)
            return
        self._finalize()

    def _report_offenders(self) -> list[Outgoing]:
        """Send each new piece of equivocation evidence to the finality service (once per
        offender; every honest validator that sees it does, and the submissions are one
        work request)."""
        outgoing: list[Outgoing] = []
        for index, evidence in self.voter.evidence.items():
            if index in self.reported_offenders:
                continue
            self.reported_offenders.add(index)
            try:
                outgoing += self.validator.submit_work(
                    FINALITY_SERVICE_ID, evidence_payload(evidence)
                )
            except ServiceError as error:
                log.warning("equivocation evidence against %d not sent: %s", index, error)
                continue
            log.info("sent equivocation evidence against validator %d on chain", index)
        return outgoing

    def offenders(self) -> list[bytes]:
        """The ed25519 keys of the offenders at the head: psi_O (disputes, eq. 10.19) and
        the validators the finality service proved to have equivocated."""
        state = self.validator.head_state()
        proven = proven_offenders(state, FINALITY_SERVICE_ID, len(self.keys))
        return sorted(set(state.disputes.offenders) | set(proven.values()))

    def _follow_votes(self) -> None:
        """Build on the branch the vote lock or the votes choose (`Voter.follow`)."""
        if self.voter.follow():
            log.info("to the branch the votes favour: head #%d", self.validator.chain.head.height)

    async def _after_move(self) -> None:
        """After the core handled a slot or a message (it may have imported blocks): count
        the votes that waited for their block, follow the votes, vote for the head (once
        per slot) and send the vote."""
        self.voter.retry_waiting()
        self._follow_votes()
        vote = self.voter.vote_for_head()
        if vote is not None:
            others = tuple(i for i in range(len(self.keys)) if i != self.index)
            await self.send([Outgoing(others, FinalityVote(vote.encode()))])
        await self.send(self._report_offenders())
        self._finalize()
        self._note_head()

    def _finalize(self) -> None:
        for final in self.voter.finalize_certified():
            log.info("final #%d %s", final.height, final.hash.hex()[:12])

    def _note_head(self) -> None:
        """Log and publish a new head."""
        head = self.validator.chain.head
        if head.hash == self._last_head:
            return
        self._last_head = head.hash
        log.info("head #%d slot %d %s", head.height, head.slot, head.hash.hex()[:12])
        pool = self.pool
        outcome = pool.last_outcome if pool is not None else None
        if pool is not None and outcome is not None and outcome is not self._last_outcome:
            self._last_outcome = outcome
            for tx_id in outcome.accepted:
                log.info("pool accepted %s", tx_id.hex()[:16])
            for tx_id, reason in outcome.rejected:
                log.info("pool rejected %s: %s", tx_id.hex()[:16], reason)
            for tx_id, reason in pool.deferral_reasons().items():
                log.info("pool deferred %s: %s", tx_id.hex()[:16], reason)
        self.hub.publish(
            "heads", {"hash": "0x" + head.hash.hex(), "height": head.height, "slot": head.slot}
        )


def main() -> None:
    run_validator(
        "run one devnet validator on jamcore's rules",
        JamNode,
        (StorageError, GenesisError, ValidatorError, CircuitError),
    )


if __name__ == "__main__":
    main()
