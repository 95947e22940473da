"""Which branch the finality votes favour: a latest-message fork choice for unlocked voters.

A validator whose vote lock is dead (or who holds none) may vote for any branch, but it only
votes for its head. If its head followed the longest branch while the validators still locked
elsewhere follow theirs, the two groups could each hold fewer than t votes for good: an
equivocator splits the honest votes, the smaller group's branch grows longer for a few
slots, and from then on nobody's votes meet. Following instead the branch that carries the
most validators' latest votes (the greedy heaviest-observed-subtree rule of Sompolinsky and
Zohar, with Ethereum's latest-message weighting) brings the free voters to the locked ones,
so the branch that can still be certified gets their votes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class BlockTree(Protocol):
    """The known blocks (a `ChainStore`): each one's parent and height, and its children."""

    def link(self, block_hash: bytes) -> tuple[bytes, int] | None: ...

    def child_hashes(self, block_hash: bytes) -> list[bytes]: ...


class Links:
    """The links of a block tree read once each (a cache for one decision: the tree only
    grows, so a link once read never changes)."""

    def __init__(self, store: BlockTree) -> None:
        self.store = store
        self.links: dict[bytes, tuple[bytes, int] | None] = {}

    def link(self, block_hash: bytes) -> tuple[bytes, int] | None:
        if block_hash not in self.links:
            self.links[block_hash] = self.store.link(block_hash)
        return self.links[block_hash]

    def descends(self, block_hash: bytes, ancestor: bytes) -> bool:
        """Whether `block_hash` is `ancestor` or built on it (False if either is unknown)."""
        target = self.link(ancestor)
        if target is None:
            return False
        cursor, step = block_hash, self.link(block_hash)
        while step is not None and step[1] > target[1]:
            cursor = step[0]
            step = self.link(cursor)
        return step is not None and cursor == ancestor


def latest_votes(slot_voters: Mapping[int, Mapping[int, set[bytes]]]) -> dict[int, set[bytes]]:
    """Each validator's votes at the highest slot it voted at (more than one only for an
    equivocator)."""
    latest: dict[int, tuple[int, set[bytes]]] = {}
    for slot, voters in slot_voters.items():
        for index, headers in voters.items():
            if index not in latest or slot > latest[index][0]:
                latest[index] = (slot, set(headers))
    return {index: headers for index, (_, headers) in latest.items()}


def heaviest_voted_block(
    store: BlockTree | Links, root: bytes, latest: Mapping[int, set[bytes]]
) -> bytes | None:
    """The deepest block on the path from `root` (the final block) that, at each fork, takes
    the child whose subtree holds the latest votes of the most validators; None if no latest
    vote is on a known block built on `root`. A tie stops the walk: the longest-chain rule
    then chooses among the tied branches. Each block's link is read once (`Links`)."""
    links = store if isinstance(store, Links) else Links(store)
    top = links.link(root)
    if top is None:
        return None
    link = links.link
    weight: dict[bytes, set[int]] = {}
    for index, headers in latest.items():
        for header in headers:
            path: list[bytes] = []
            cursor, step = header, link(header)
            while step is not None and step[1] > top[1]:
                path.append(cursor)
                cursor = step[0]
                step = link(cursor)
            if step is None or cursor != root:
                continue  # unknown, or not built on the final block
            for block_hash in path:
                weight.setdefault(block_hash, set()).add(index)
    chosen: bytes | None = None
    current = root
    while True:
        scored = sorted(
            (len(weight.get(child, ())), child)
            for child in links.store.child_hashes(current)
            if child in weight
        )
        if not scored:
            return chosen
        if len(scored) > 1 and scored[-2][0] == scored[-1][0]:
            return chosen
        current = chosen = scored[-1][1]
