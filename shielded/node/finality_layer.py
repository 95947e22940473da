"""OSST finality in the node: gossiped votes, certificates, on-chain finality and evidence.

Off chain, every validator votes for each block it makes canonical (`contribute` over
(chain id, slot, header hash), design section 4) and gossips the vote. `VoteTracker`
checks each vote against the voter's public share, aggregates t = floor(2V/3)+1 votes for
one header into a certificate (verified with OSST eq. 3.3 against Y), and turns two votes
by one validator for different headers at one slot into equivocation evidence.

On chain, authors carry certificates, evidence and the messages of the epoch's reshare
round in a work report of the finality service (see `guarantees.py`).
`FinalityLayer.apply_block` verifies them: a certificate must verify against Y and certify
an ancestor of the block, which then becomes final; a piece of evidence must prove an
equivocation, and the offender's ed25519 key joins the offenders (Safrole replaces it with
the null key at the next epoch, eq. 6.14); reshare messages join the round in the chain's
`KeyRecord`, whose round closes at the first block of the next epoch (`key_record.py`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from jamcore.block import Block
from jamcore.codec import BLOB, CodecError, Struct, seq
from jamcore.state.keys import storage_key
from shielded.finality.certificate import Certificate, aggregate, verify_certificate
from shielded.finality.contribution import FinalityPayload, Vote, verify_contribution
from shielded.finality.equivocation import EquivocationEvidence, verify_equivocation
from shielded.finality.errors import FinalityError, UnknownIndex
from shielded.finality.keys import EpochKeys
from shielded.finality.transport import Signed
from shielded.node.chain import (
    FINAL_KEY,
    OFFENDERS_KEY,
    ChainState,
    InvalidBlock,
    LayerOutcome,
)
from shielded.node.guarantees import FINALITY_SERVICE_ID, GuaranteeError, service_outputs
from shielded.node.key_record import (
    KeyRecord,
    ReshareError,
    RoundContext,
    admit,
    close_round,
)
from shielded.node.storage import ChainStore

log = logging.getLogger("shielded.finality")

MAX_CERTIFICATES_PER_BLOCK = 4
MAX_EVIDENCE_PER_BLOCK = 8
MAX_RESHARE_PER_BLOCK = 64
KEYS_KEY = storage_key(FINALITY_SERVICE_ID, b"keys")
"""The finality `KeyRecord`: keys in force and the epoch's reshare round."""


@dataclass(frozen=True)
class FinalityItems:
    """What one block carries for the finality service."""

    certificates: tuple[bytes, ...]
    evidence: tuple[bytes, ...]
    reshare: tuple[bytes, ...] = ()
    """Signed dealings, complaints and answers of the epoch's reshare round."""


FINALITY_ITEMS = Struct(
    FinalityItems,
    {
        "certificates": seq(BLOB, max_length=MAX_CERTIFICATES_PER_BLOCK),
        "evidence": seq(BLOB, max_length=MAX_EVIDENCE_PER_BLOCK),
        "reshare": seq(BLOB, max_length=MAX_RESHARE_PER_BLOCK),
    },
)


KeysFor = Callable[[Vote], tuple[EpochKeys | None, bool]]
"""The finality keys a vote must verify against, and whether they are definitive: the keys
in the voted block's state when the node has that block (definitive), else the head's keys
for the vote's epoch, or None. Branches may hold different keys after an epoch change (their
reshare rounds differed), so a vote is judged by its own block's keys."""

MAX_WAITING_VOTES = 4096
KEYS_LOCAL = "finality_keys"
"""Node-local record, per block, of the finality keys in its state (`FinalityLayer.keys_of`)."""


class VoteTracker:
    """Collects votes per header; yields certificates and equivocation evidence."""

    def __init__(self, chain_id: bytes, keys_for: KeysFor) -> None:
        self.chain_id = chain_id
        self.keys_for = keys_for
        self.votes: dict[bytes, dict[int, Vote]] = {}
        self.by_slot: dict[tuple[int, int], Vote] = {}
        self.slot_voters: dict[int, dict[int, set[bytes]]] = {}
        """slot -> validator index -> the headers it voted for at that slot (valid votes)."""
        self.certified: set[bytes] = set()
        self.waiting: list[Vote] = []
        """Votes for blocks this node has not imported yet that it cannot check yet (see
        `retry`); the oldest are dropped beyond MAX_WAITING_VOTES."""

    def add(self, vote: Vote) -> tuple[Certificate | None, EquivocationEvidence | None]:
        """Record a vote (FinalityError if invalid); returns a new certificate when this
        vote completes t, and evidence when it contradicts an earlier vote. A vote for an
        unknown block that the head's keys do not confirm waits for `retry`; only a vote
        that fails its own block's keys is invalid."""
        payload = vote.payload
        if payload.chain_id != self.chain_id:
            raise FinalityError("vote for another chain")
        keys, definitive = self.keys_for(vote)
        index = vote.contribution.index
        try:
            if keys is None:
                raise UnknownIndex("no keys for this vote yet")
            verify_contribution(vote.contribution, payload, keys.public_share(index))
        except FinalityError:
            if definitive:
                raise
            log.debug("vote of %d for unknown %s waits", index, payload.header_hash.hex()[:12])
            self.waiting.append(vote)
            del self.waiting[:-MAX_WAITING_VOTES]
            return None, None
        assert keys is not None
        self.slot_voters.setdefault(payload.slot, {}).setdefault(index, set()).add(
            payload.header_hash
        )
        evidence = None
        earlier = self.by_slot.get((index, payload.slot))
        if earlier is not None and earlier.payload.header_hash != payload.header_hash:
            evidence = EquivocationEvidence.of(earlier, vote)
        else:
            self.by_slot[(index, payload.slot)] = vote
        votes = self.votes.setdefault(payload.header_hash, {})
        votes.setdefault(index, vote)
        certificate = None
        if payload.header_hash not in self.certified and len(votes) >= keys.threshold:
            certificate = aggregate(payload, votes.values(), keys.validator_count)
            verify_certificate(certificate, keys.group_key, keys.validator_count)
            self.certified.add(payload.header_hash)
        return certificate, evidence

    def retry(self) -> list[Vote]:
        """The waiting votes whose block is now known (to be added again)."""
        ready: list[Vote] = []
        still: list[Vote] = []
        for vote in self.waiting:
            (ready if self.keys_for(vote)[1] else still).append(vote)
        self.waiting = still
        return ready

    def prune(self, below_slot: int) -> None:
        """Forget votes for slots below `below_slot` (they can no longer matter)."""
        self.by_slot = {k: v for k, v in self.by_slot.items() if k[1] >= below_slot}
        self.slot_voters = {k: v for k, v in self.slot_voters.items() if k >= below_slot}
        keep = {v.payload.header_hash for v in self.by_slot.values()}
        self.votes = {h: v for h, v in self.votes.items() if h in keep}
        self.waiting = [v for v in self.waiting if v.payload.slot >= below_slot]


class FinalityLayer:
    """The finality service's on-chain checks and state changes (a `ChainLayer`)."""

    def __init__(
        self,
        chain_id: bytes,
        keys: EpochKeys,
        validator_keys: Sequence[bytes],
        epoch_length: int,
    ) -> None:
        self.chain_id = chain_id
        self.keys = keys
        self.validator_keys = list(validator_keys)
        self.epoch_length = epoch_length

    def genesis(self, genesis_hash: bytes) -> LayerOutcome:
        return LayerOutcome(
            {KEYS_KEY: KeyRecord.genesis(self.keys).encode()}, {KEYS_LOCAL: self.keys.encode()}
        )

    def keys_of(self, store: ChainStore, block_hash: bytes) -> EpochKeys | None:
        """The finality keys in force in `block_hash`'s state, if the store has the block."""
        data = store.local(block_hash, KEYS_LOCAL)
        return None if data is None else _decode_keys(data)

    def record(self, store: ChainStore) -> KeyRecord:
        """The key record of the store's (head) state, decoded once per distinct value."""
        data = store.get(KEYS_KEY)
        if data is None:
            return KeyRecord.genesis(self.keys)
        return _decode_record(data)

    def round_context(self, slot: int, state: ChainState) -> RoundContext:
        """Admission context of reshare messages in a block at `slot` on `state`."""
        return RoundContext(
            self.chain_id,
            slot,
            self.epoch_length,
            [key.ed25519 for key in state.safrole.active_validators],
            [key.ed25519 for key in state.safrole.pending_validators],
        )

    def apply_block(
        self, block: Block, block_hash: bytes, state: ChainState, store: ChainStore
    ) -> LayerOutcome:
        header = block.header
        try:
            outputs = service_outputs(block, FINALITY_SERVICE_ID, self.validator_keys)
        except GuaranteeError as error:
            raise InvalidBlock(f"finality report: {error}") from error
        changes: dict[bytes, bytes | None] = {}
        offenders = set(state.offenders)
        best_final: tuple[int, bytes] | None = None
        before = self.record(store)
        epoch = header.slot // self.epoch_length
        # The first block of a later epoch closes the round (key_record.close_round).
        record = close_round(before, epoch) if epoch > before.epoch else before
        context = self.round_context(header.slot, state)
        for output in outputs:
            try:
                items = FINALITY_ITEMS.decode(output)
                certificates = [Certificate.decode(c) for c in items.certificates]
                evidence = [EquivocationEvidence.decode(e) for e in items.evidence]
                reshare = [Signed.decode(m) for m in items.reshare]
            except (CodecError, FinalityError) as error:
                raise InvalidBlock(f"malformed finality item: {error}") from error
            for certificate in certificates:
                target = self._check_certificate(certificate, header.parent, store, record)
                if best_final is None or target[0] > best_final[0]:
                    best_final = target
            for piece in evidence:
                keys = record.keys_at(piece.first.payload.slot // self.epoch_length)
                if keys is None:
                    raise InvalidBlock("equivocation evidence from a future epoch")
                try:
                    index = verify_equivocation(piece, keys)
                except FinalityError as error:
                    raise InvalidBlock(f"invalid equivocation evidence: {error}") from error
                offenders.add(self.validator_keys[index])
            for message in reshare:
                try:
                    record = admit(record, context, message)
                except ReshareError as error:
                    raise InvalidBlock(f"reshare message: {error}") from error
        if best_final is not None:
            changes[FINAL_KEY] = best_final[1]
        if offenders != state.offenders:
            changes[OFFENDERS_KEY] = b"".join(sorted(offenders))
        if record != before:
            changes[KEYS_KEY] = record.encode()
        return LayerOutcome(changes, {KEYS_LOCAL: record.keys.encode()})

    def _check_certificate(
        self, certificate: Certificate, parent: bytes, store: ChainStore, record: KeyRecord
    ) -> tuple[int, bytes]:
        payload = certificate.payload
        if payload.chain_id != self.chain_id:
            raise InvalidBlock("certificate for another chain")
        keys = record.keys_at(payload.slot // self.epoch_length) or record.keys
        try:
            verify_certificate(certificate, keys.group_key, keys.validator_count)
        except FinalityError as error:
            raise InvalidBlock(f"invalid finality certificate: {error}") from error
        target = store.block(payload.header_hash)
        if target is None or target.slot != payload.slot:
            raise InvalidBlock("certificate for an unknown block")
        if not store.descends(parent, target.hash):
            raise InvalidBlock("certificate for a block that is not an ancestor")
        return target.height, target.hash


@functools.lru_cache(maxsize=16)
def _decode_keys(data: bytes) -> EpochKeys:
    """EpochKeys.decode, once per distinct encoding (votes and blocks share a few)."""
    return EpochKeys.decode(data)


@functools.lru_cache(maxsize=8)
def _decode_record(data: bytes) -> KeyRecord:
    """KeyRecord.decode, once per distinct state value (every block reads the head's)."""
    return KeyRecord.decode(data)


def vote_payload(chain_id: bytes, slot: int, header_hash: bytes) -> FinalityPayload:
    return FinalityPayload(chain_id, slot, header_hash)
