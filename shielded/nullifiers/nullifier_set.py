"""The nullifier set with epoch tags and pruning (design section 3, "Nullifiers").

Each nullifier is recorded with the epoch s it was revealed in. A nullifier of an ephemeral
note is pruned once the current epoch exceeds s + N: the note it spent expired by epoch
s + N at the latest (its expiry is at most its creation epoch + N <= s + N), and the circuit
refuses expired inputs, so a replay cannot prove anything any more. Nullifiers of permanent
notes never expire and are kept for good.

Insertion is all-or-nothing: a batch with a nullifier already in the set, or the same
nullifier twice, raises NullifierError and changes nothing (double spends in one block and
across blocks are both caught here).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shielded.notes.poseidon import FIELD_MODULUS
from shielded.nullifiers.errors import NullifierError


@dataclass(frozen=True)
class RevealedNullifier:
    """A nullifier, the epoch it was revealed in, and whether it spent a permanent note."""

    nullifier: int
    epoch: int
    permanent: bool = False


class NullifierSet:
    """Revealed nullifiers indexed by value; ephemeral ones bucketed by reveal epoch."""

    def __init__(self, lifetime: int) -> None:
        if lifetime < 0:
            raise NullifierError(f"note lifetime N must be >= 0, got {lifetime}")
        self.lifetime = lifetime
        self._records: dict[int, RevealedNullifier] = {}
        self._by_epoch: dict[int, set[int]] = {}
        self._added: list[RevealedNullifier] = []
        self._removed: list[RevealedNullifier] = []

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, nullifier: object) -> bool:
        return nullifier in self._records

    def record(self, nullifier: int) -> RevealedNullifier | None:
        """How `nullifier` was revealed, or None if it is unspent (or pruned)."""
        return self._records.get(nullifier)

    def check_unspent(self, nullifiers: Iterable[int]) -> None:
        """Raise NullifierError if any nullifier is malformed, repeated, or already revealed."""
        seen: set[int] = set()
        for nullifier in nullifiers:
            if not isinstance(nullifier, int) or not 0 <= nullifier < FIELD_MODULUS:
                raise NullifierError(f"nullifier {nullifier!r} is not a BN254 field element")
            if nullifier in seen:
                raise NullifierError(f"nullifier {nullifier:#x} appears twice in one batch")
            if self.record(nullifier) is not None:
                raise NullifierError(f"nullifier {nullifier:#x} was already revealed")
            seen.add(nullifier)

    def insert(self, revealed: Iterable[RevealedNullifier]) -> None:
        """Record a batch of nullifiers (one block's), atomically; double spends raise."""
        batch = list(revealed)
        self.check_unspent(entry.nullifier for entry in batch)
        for entry in batch:
            if entry.epoch < 0:
                raise NullifierError(f"reveal epoch must be >= 0, got {entry.epoch}")
        for entry in batch:
            self._add(entry)

    def _add(self, entry: RevealedNullifier) -> None:
        """Record one checked reveal (and journal it)."""
        self._records[entry.nullifier] = entry
        self._added.append(entry)
        if not entry.permanent:
            self._by_epoch.setdefault(entry.epoch, set()).add(entry.nullifier)

    def remove(self, nullifiers: Iterable[int]) -> None:
        """Forget nullifiers (rolling back a block on a reorg)."""
        for nullifier in nullifiers:
            entry = self._records.pop(nullifier, None)
            if entry is not None:
                self._removed.append(entry)
            if entry is not None and not entry.permanent:
                self._by_epoch[entry.epoch].discard(nullifier)

    def prune(self, current_epoch: int) -> int:
        """Drop ephemeral-note nullifiers revealed at s once current_epoch > s + N.

        Returns how many were dropped.
        """
        expired = [s for s in self._by_epoch if current_epoch > s + self.lifetime]
        dropped = 0
        for epoch in expired:
            for nullifier in self._by_epoch.pop(epoch):
                self._removed.append(self._records.pop(nullifier))
                dropped += 1
        return dropped

    def epochs(self) -> set[int]:
        """The reveal epochs of the ephemeral-note nullifiers held."""
        return {epoch for epoch, held in self._by_epoch.items() if held}

    def take_changes(self) -> tuple[list[RevealedNullifier], list[RevealedNullifier]]:
        """(recorded, forgotten) since the last call, in order: what a node persists of a
        block (a pruned epoch's nullifiers are deleted from its storage)."""
        added, removed = self._added, self._removed
        self._added, self._removed = [], []
        return added, removed

    def entries(self) -> list[RevealedNullifier]:
        """Every recorded nullifier, ordered by value (for hashing and persisting state)."""
        return [self._records[nf] for nf in sorted(self._records)]
