"""The window of recent block hashes a spam proof may be anchored to (design section 3).

A proof's anchor must be one of the last K block hashes of the chain that imports it, so a
proof cannot be computed before its anchor block exists (no precomputation against future
hashes) and expires K blocks later (no stockpiling). `RecentAnchors` is that window: a ring of
K hashes with O(1) membership, plus a bounded memory of hashes that recently left it so a
stale anchor can be told apart from one the chain never had.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from shielded.pow.errors import MalformedProof, StaleAnchor, UnknownAnchor
from shielded.pow.work import HASH_BYTES


class _HashRing:
    """The last `capacity` (hash, position) pairs, oldest first, with O(1) lookup by hash."""

    __slots__ = ("capacity", "entries", "positions", "view")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.entries: deque[tuple[bytes, int]] = deque()
        self.positions: dict[bytes, int] = {}
        self.view = MappingProxyType(self.positions)

    def add(self, block_hash: bytes, position: int) -> tuple[bytes, int] | None:
        """Append a hash; returns the (hash, position) that fell out of the ring, if any."""
        if self.capacity == 0:
            return None
        self.entries.append((block_hash, position))
        self.positions[block_hash] = position
        if len(self.entries) <= self.capacity:
            return None
        old_hash, old_position = self.entries.popleft()
        if self.positions.get(old_hash) != old_position:
            return None  # the same hash was pushed again later and is still present
        del self.positions[old_hash]
        return old_hash, old_position

    def copy(self) -> _HashRing:
        clone = _HashRing(self.capacity)
        clone.entries.extend(self.entries)
        clone.positions.update(self.positions)
        return clone


class RecentAnchors:
    """The last `capacity` block hashes of one chain, oldest first, each with its position.

    Positions count pushed hashes from `first_position` (the block number when the window
    starts at genesis). A node keeps one window per head it builds or imports on; `copy()`
    branches it at a fork. Hashes that left the window are remembered for `retired_capacity`
    more blocks (default K) only to report them as stale rather than unknown.
    """

    __slots__ = ("_window", "_retired", "_next_position")

    def __init__(
        self,
        capacity: int,
        hashes: Iterable[bytes] = (),
        *,
        retired_capacity: int | None = None,
        first_position: int = 0,
    ) -> None:
        if not (isinstance(capacity, int) and capacity >= 1):
            raise MalformedProof(f"anchor window capacity {capacity!r}: expected >= 1")
        retired = capacity if retired_capacity is None else retired_capacity
        if not (isinstance(retired, int) and retired >= 0):
            raise MalformedProof(f"retired_capacity {retired!r}: expected >= 0")
        self._window = _HashRing(capacity)
        self._retired = _HashRing(retired)
        self._next_position = first_position
        for block_hash in hashes:
            self.push(block_hash)

    @property
    def capacity(self) -> int:
        """K: how many recent block hashes are valid anchors."""
        return self._window.capacity

    def push(self, block_hash: bytes) -> None:
        """Record the hash of the newest imported block, retiring the oldest beyond K."""
        if not (isinstance(block_hash, bytes) and len(block_hash) == HASH_BYTES):
            raise MalformedProof(f"block hash {block_hash!r}: expected 32 bytes")
        evicted = self._window.add(block_hash, self._next_position)
        self._next_position += 1
        if evicted is not None:
            self._retired.add(*evicted)

    def live_positions(self) -> Mapping[bytes, int]:
        """A live read-only view anchor -> position of the window (for hot-path lookups)."""
        return self._window.view

    def __contains__(self, anchor: object) -> bool:
        return anchor in self._window.positions

    def __len__(self) -> int:
        return len(self._window.entries)

    def position(self, anchor: bytes) -> int:
        """Position of `anchor` in the chain; StaleAnchor/UnknownAnchor unless it is recent."""
        position = self._window.positions.get(anchor)
        if position is not None:
            return position
        retired_at = self._retired.positions.get(anchor)
        if retired_at is not None:
            age = self._next_position - 1 - retired_at
            raise StaleAnchor(
                f"anchor {anchor.hex()} is {age} blocks old: only the last {self.capacity} "
                "block hashes are accepted, solve again on a recent one"
            )
        raise UnknownAnchor(
            f"anchor {anchor!r} is not among the last {self.capacity} block hashes of this chain"
        )

    @property
    def oldest_position(self) -> int:
        """Position of the oldest hash still in the window (the next position if empty)."""
        entries = self._window.entries
        return entries[0][1] if entries else self._next_position

    @property
    def newest(self) -> bytes:
        """The most recently pushed block hash (the chain head's hash)."""
        if not self._window.entries:
            raise UnknownAnchor("the anchor window is empty: no block imported yet")
        return self._window.entries[-1][0]

    def hashes(self) -> tuple[bytes, ...]:
        """The window, oldest first."""
        return tuple(block_hash for block_hash, _ in self._window.entries)

    def copy(self) -> RecentAnchors:
        """An independent window equal to this one (to follow a fork)."""
        clone = RecentAnchors(self.capacity, retired_capacity=self._retired.capacity)
        clone._window = self._window.copy()
        clone._retired = self._retired.copy()
        clone._next_position = self._next_position
        return clone
