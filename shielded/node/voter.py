"""A validator's OSST finality voting: the vote lock, the branch it builds on, certificates.

Every validator votes through this class, so the safety-critical rules live once:

* **The lock rule** (`may_vote_for`): vote only for a block that descends from the last block
  this validator voted for (its lock), unless the lock can never be final any more
  (`lock_is_dead`). Two conflicting blocks can then not both gather t votes while at most
  f = floor((V-1)/3) validators are faulty.
* **The branch to build on** (`follow`): a validator whose lock is live builds on the longest
  branch through it; one free to vote anywhere follows the branch holding the most
  validators' latest votes (`vote_weight`), so the free voters join the locked ones.
* **Finality** (`receive`, `finalize_certified`): votes are checked against the OSST keys of
  the voted block's state (`VoteTracker`); t of them aggregate into a certificate, and a
  certified block is made final at once (design section 4).

The chain is either kind: it exposes its store, head, final block,
`switch_to`, `finalize` and a `required_ancestor` the fork choice respects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from shielded.finality.certificate import Certificate
from shielded.finality.contribution import FinalityPayload, Vote, contribute
from shielded.finality.equivocation import EquivocationEvidence
from shielded.finality.errors import FinalityError
from shielded.finality.keys import EpochKeys, KeyShare
from shielded.node.storage import ChainStore, StoredBlock
from shielded.node.vote_tracker import VoteTracker
from shielded.node.vote_weight import Links, heaviest_voted_block, latest_votes

log = logging.getLogger(__name__)

LOCK_BRANCH_LAG = 3
"""Blocks the branch of a live vote lock may trail the longest branch before it is given up."""
LOCK_NOTE = "vote_lock"


class Outcome(Protocol):
    status: str


class VotingChain(Protocol):
    """What the voter needs of a chain (`Chain` or `JamChain`)."""

    store: ChainStore
    required_ancestor: bytes | None

    @property
    def head(self) -> StoredBlock: ...

    @property
    def finalized(self) -> StoredBlock: ...

    def switch_to(self, block_hash: bytes) -> Outcome: ...

    def finalize(self, block_hash: bytes) -> bool: ...


KeysForBlock = Callable[[bytes, int], tuple[EpochKeys | None, bool]]
"""(block hash, slot) -> the OSST keys a vote for it verifies against, and whether they are
definitive (the block's own state) or a guess (a block not imported yet)."""
ShareFor = Callable[[EpochKeys], KeyShare | None]
"""This validator's share of the given keys (None if a reshare left it without one)."""


class Voter:
    """Validator `index`'s votes, lock and certificates on `chain`."""

    def __init__(
        self,
        chain: VotingChain,
        chain_id: bytes,
        index: int,
        keys_for_block: KeysForBlock,
        share_for: ShareFor,
        validator_count: int,
        threshold: int,
    ) -> None:
        self.chain = chain
        self.store = chain.store
        self.chain_id = chain_id
        self.index = index
        self.keys_for_block = keys_for_block
        self.share_for = share_for
        self.validator_count = validator_count
        self.threshold = threshold
        self.votes = VoteTracker(chain_id, self._keys_for)
        self.last_voted_slot = chain.head.slot
        saved = self.store.note(LOCK_NOTE)
        self.lock: tuple[int, bytes] | None = (
            (int.from_bytes(saved[:4], "little"), saved[4:]) if saved else None
        )
        """(slot, hash) of the last block this validator voted for (kept across restarts)."""
        if self.lock is not None:
            self.last_voted_slot = max(self.last_voted_slot, self.lock[0])
        self.certificates: dict[bytes, Certificate] = {}
        self.evidence: dict[int, EquivocationEvidence] = {}

    def _keys_for(self, vote: Vote) -> tuple[EpochKeys | None, bool]:
        return self.keys_for_block(vote.payload.header_hash, vote.payload.slot)

    # --- voting -------------------------------------------------------------------------

    def vote_for_head(self) -> Vote | None:
        """This validator's vote for the canonical head, if it did not vote at that slot yet
        and the lock rule allows it (to be sent to every validator)."""
        head = self.chain.head
        if head.slot <= self.last_voted_slot:
            return None
        if not self.may_vote_for(head.hash):
            assert self.lock is not None
            log.debug("locked on slot %d: no vote for head at slot %d", self.lock[0], head.slot)
            return None
        return self.vote(head.slot, head.hash)

    def vote(self, slot: int, block_hash: bytes) -> Vote | None:
        """Sign a vote for `block_hash` at `slot` and lock on it (no lock rule: a faulty
        validator's fault injection calls this directly); None without a share."""
        keys, _ = self.keys_for_block(block_hash, slot)
        share = self.share_for(keys) if keys is not None else None
        if share is None:  # no share of these keys (a dealing to it failed): cannot vote
            log.debug("no share of the keys of %s: no vote", block_hash.hex()[:12])
            return None
        self.last_voted_slot = max(self.last_voted_slot, slot)
        self.lock = (slot, block_hash)
        self.store.set_note(LOCK_NOTE, slot.to_bytes(4, "little") + block_hash)
        payload = FinalityPayload(self.chain_id, slot, block_hash)
        vote = Vote(payload, contribute(share, payload))
        self.receive(vote)
        return vote

    def may_vote_for(self, block_hash: bytes) -> bool:
        """The lock rule: only for a descendant of the lock, unless the lock is dead."""
        if self.lock is None:
            return True
        lock_slot, lock_hash = self.lock
        if self.store.descends(block_hash, lock_hash):
            return True
        return self.lock_is_dead(lock_slot, lock_hash)

    def lock_is_dead(self, lock_slot: int, lock_hash: bytes) -> bool:
        """Whether neither the locked block nor anything built on it can be certified.

        The lock lost if a final block does not descend from it. Otherwise count the
        validators that voted, at the lock's slot or later, for a known block that does not
        descend from it: an honest one never votes again at an earlier or equal slot, nor
        on the lock's branch while it holds its own conflicting lock. If at least
        V - t + 1 + f of them did (f = the faults tolerated), fewer than t votes remain for
        the lock's branch even if the f faulty ones vote for everything."""
        links = Links(self.store)
        final = self.chain.finalized
        if final.slot >= lock_slot and not links.descends(final.hash, lock_hash):
            return True
        faults = (self.validator_count - 1) // 3
        needed = self.validator_count - self.threshold + 1 + faults
        against: set[int] = set()
        for slot, voters in self.votes.slot_voters.items():
            if slot < lock_slot:
                continue
            for index, headers in voters.items():
                if index in against:
                    continue
                for header in headers:
                    if links.link(header) is not None and not links.descends(header, lock_hash):
                        against.add(index)
                        break
        return len(against) >= needed

    def follow(self) -> bool:
        """Build on the branch of a live vote lock, or else on the branch the votes favour
        (module docstring); True if the head moved to it.

        A lock's branch, or the favoured branch, that fell LOCK_BRANCH_LAG blocks behind the
        longest has lost (a validator that was partitioned, voting on its own blocks: the
        others' votes are for blocks it has not executed and cannot check yet), and the
        longest branch wins."""
        lock = self.lock
        best = self.store.best_descendant(lock[1]) if lock is not None else None
        alive = (
            lock is not None
            and best is not None
            and best.height + LOCK_BRANCH_LAG > self.store.max_height()
            and not self.lock_is_dead(*lock)
        )
        if alive and lock is not None:
            anchor: bytes | None = lock[1]
        else:
            anchor = heaviest_voted_block(
                self.store, self.chain.finalized.hash, latest_votes(self.votes.slot_voters)
            )
            best = self.store.best_descendant(anchor) if anchor is not None else None
            if best is not None and best.height + LOCK_BRANCH_LAG <= self.store.max_height():
                # The votes it sees favour a branch far behind the longest: it was cut off
                # (only votes on branches it executed verify), so it follows the longest.
                anchor = best = None
        self.chain.required_ancestor = anchor
        if anchor is None or best is None or self.store.descends(self.chain.head.hash, anchor):
            return False
        return self.chain.switch_to(best.hash).status == "reorg"

    # --- votes and certificates ---------------------------------------------------------

    def receive(self, vote: Vote) -> bool:
        """Record a vote (its certificate when it completes t, evidence when it contradicts
        an earlier one); False if it is invalid."""
        try:
            certificate, evidence = self.votes.add(vote)
        except FinalityError as error:
            log.warning("rejected a finality vote: %s", error)
            return False
        if evidence is not None:
            index = evidence.first.contribution.index
            log.warning("equivocation by validator %d at slot %d", index, vote.payload.slot)
            self.evidence.setdefault(index, evidence)
        if certificate is not None:
            self.certificates[certificate.payload.header_hash] = certificate
        return True

    def retry_waiting(self) -> None:
        """Record the votes that waited for their block, now imported."""
        for vote in self.votes.retry():
            self.receive(vote)

    def finalize_certified(self) -> list[StoredBlock]:
        """Make the certified blocks final, oldest first; the blocks that became final.
        Certificates and votes at or below the final slot are dropped."""
        made = []
        for block_hash in sorted(
            self.certificates, key=lambda h: self.certificates[h].payload.slot
        ):
            if self.chain.finalize(block_hash):
                made.append(self.chain.finalized)
        final_slot = self.chain.finalized.slot
        self.certificates = {
            h: c for h, c in self.certificates.items() if c.payload.slot > final_slot
        }
        self.votes.prune(final_slot)
        return made
