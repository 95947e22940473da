"""The used-proof registry: each transaction id spends one spam proof per chain.

A proof names its transaction id, so it cannot be moved to another transaction (that is a
`WrongTransaction`); what remains is including the same transaction, with its proof, a second
time. The registry remembers every transaction id whose proof a chain accepted, together with
the position of the proof's anchor. Entries are pruned once that anchor has left the recent
window: from then on the proof would be stale anyway, so the registry stays bounded by
K x block capacity entries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from types import MappingProxyType

from shielded.pow.errors import ReplayedProof


class UsedProofs:
    """Transaction ids that already spent a spam proof, indexed by their anchor's position."""

    __slots__ = ("_anchor_position", "_by_position", "_view")

    def __init__(self) -> None:
        self._anchor_position: dict[bytes, int] = {}
        self._by_position: defaultdict[int, list[bytes]] = defaultdict(list)
        self._view = MappingProxyType(self._anchor_position)

    def live_view(self) -> Mapping[bytes, int]:
        """A live read-only view tx id -> anchor position (for hot-path lookups)."""
        return self._view

    def __contains__(self, tx_id: object) -> bool:
        return tx_id in self._anchor_position

    def __len__(self) -> int:
        return len(self._anchor_position)

    def ensure_unused(self, tx_id: bytes) -> None:
        """Raise ReplayedProof if `tx_id` already spent a spam proof on this chain."""
        if tx_id in self._anchor_position:
            raise ReplayedProof(
                f"transaction {tx_id.hex()} already included with a spam proof anchored at "
                f"position {self._anchor_position[tx_id]}"
            )

    def record(self, tx_id: bytes, anchor_position: int) -> None:
        """Mark `tx_id`'s proof as spent; its anchor sits at `anchor_position`."""
        self.ensure_unused(tx_id)
        self._anchor_position[tx_id] = anchor_position
        self._by_position[anchor_position].append(tx_id)

    def prune(self, oldest_live_position: int) -> int:
        """Forget proofs anchored before `oldest_live_position`; returns how many were dropped."""
        dropped = 0
        for position in [p for p in self._by_position if p < oldest_live_position]:
            for tx_id in self._by_position.pop(position):
                del self._anchor_position[tx_id]
                dropped += 1
        return dropped

    def copy(self) -> UsedProofs:
        """An independent registry equal to this one (to follow a fork)."""
        clone = UsedProofs()
        clone._anchor_position = dict(self._anchor_position)
        clone._view = MappingProxyType(clone._anchor_position)
        for position, tx_ids in self._by_position.items():
            clone._by_position[position] = list(tx_ids)
        return clone
