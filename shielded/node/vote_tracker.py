"""Gossiped OSST finality votes: checked, aggregated into certificates, equivocations caught.

Every validator votes for each block it makes canonical (`contribute` over (chain id, slot,
header hash), design section 4) and gossips the vote. `VoteTracker` checks each vote against
the voter's public share in the voted block's keys, aggregates t = floor(2V/3)+1 votes for
one header into a certificate (verified with OSST eq. 3.3 against Y), and turns two votes by
one validator for different headers at one slot into equivocation evidence (which the
finality service proves on chain, `shielded.native_finality`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from shielded.finality.certificate import Certificate, aggregate, verify_certificate
from shielded.finality.contribution import Vote, verify_contribution
from shielded.finality.equivocation import EquivocationEvidence
from shielded.finality.errors import FinalityError, UnknownIndex
from shielded.finality.keys import EpochKeys

log = logging.getLogger("shielded.finality")

KeysFor = Callable[[Vote], tuple[EpochKeys | None, bool]]
"""The finality keys a vote must verify against, and whether they are definitive: the keys
in the voted block's state when the node has that block (definitive), else the head's keys
for the vote's epoch, or None. Branches may hold different keys after an epoch change (their
reshare rounds differed), so a vote is judged by its own block's keys."""

MAX_WAITING_VOTES = 4096


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
