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


class RecentAnchors:
    """The last `capacity` block hashes of one chain, oldest first, each with its position.

    Positions count pushed hashes from 0 (block number when the window starts at genesis).
    A node keeps one window per head it builds or imports on; `copy()` branches it at a fork.
    """

    __slots__ = (
        "capacity",
        "retired_capacity",
        "_window",
        "_positions",
        "_retired",
        "_retired_positions",
        "_next_position",
        "_view",
    )

    def __init__(
        self,
        capacity: int,
        hashes: Iterable[bytes] = (),
        *,
        retired_capacity: int | None = None,
        first_position: int = 0,
    ) -> None:
        if capacity < 1:
            raise MalformedProof(f"anchor window capacity {capacity}: expected >= 1")
        self.capacity = capacity
        self.retired_capacity = capacity if retired_capacity is None else retired_capacity
        self._window: deque[tuple[bytes, int]] = deque()
        self._positions: dict[bytes, int] = {}
        self._view = MappingProxyType(self._positions)
        self._retired: deque[tuple[bytes, int]] = deque()
        self._retired_positions: dict[bytes, int] = {}
        self._next_position = first_position
        for block_hash in hashes:
            self.push(block_hash)

    def push(self, block_hash: bytes) -> None:
        """Record the hash of the newest imported block, retiring the oldest beyond K."""
        if not (isinstance(block_hash, bytes) and len(block_hash) == HASH_BYTES):
            raise MalformedProof(f"block hash {block_hash!r}: expected 32 bytes")
        position = self._next_position
        self._next_position += 1
        self._window.append((block_hash, position))
        self._positions[block_hash] = position
        if len(self._window) > self.capacity:
            old_hash, old_position = self._window.popleft()
            if self._positions.get(old_hash) == old_position:
                del self._positions[old_hash]
                self._retire(old_hash, old_position)

    def _retire(self, block_hash: bytes, position: int) -> None:
        if self.retired_capacity == 0:
            return
        self._retired.append((block_hash, position))
        self._retired_positions[block_hash] = position
        if len(self._retired) > self.retired_capacity:
            old_hash, old_position = self._retired.popleft()
            if self._retired_positions.get(old_hash) == old_position:
                del self._retired_positions[old_hash]

    def live_positions(self) -> Mapping[bytes, int]:
        """A live read-only view anchor -> position of the window (for hot-path lookups)."""
        return self._view

    def __contains__(self, anchor: object) -> bool:
        return anchor in self._positions

    def __len__(self) -> int:
        return len(self._window)

    def position(self, anchor: bytes) -> int:
        """Position of `anchor` in the chain; StaleAnchor/UnknownAnchor unless it is recent."""
        position = self._positions.get(anchor)
        if position is not None:
            return position
        if anchor in self._retired_positions:
            age = self._next_position - 1 - self._retired_positions[anchor]
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
        return self._window[0][1] if self._window else self._next_position

    @property
    def newest(self) -> bytes:
        """The most recently pushed block hash (the chain head's hash)."""
        if not self._window:
            raise UnknownAnchor("the anchor window is empty: no block imported yet")
        return self._window[-1][0]

    def hashes(self) -> tuple[bytes, ...]:
        """The window, oldest first."""
        return tuple(block_hash for block_hash, _ in self._window)

    def copy(self) -> RecentAnchors:
        """An independent window equal to this one (to follow a fork)."""
        clone = RecentAnchors(self.capacity, retired_capacity=self.retired_capacity)
        clone._window = deque(self._window)
        clone._positions = dict(self._positions)
        clone._view = MappingProxyType(clone._positions)
        clone._retired = deque(self._retired)
        clone._retired_positions = dict(self._retired_positions)
        clone._next_position = self._next_position
        return clone
