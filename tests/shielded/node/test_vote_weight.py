"""The latest-message fork choice that brings free voters to the branch the votes favour."""

from __future__ import annotations

from shielded.node.storage import StoredBlock
from shielded.node.vote_weight import heaviest_voted_block, latest_votes


class Tree:
    """Blocks named by one letter; `parent` maps each to its parent ('' for the root)."""

    def __init__(self, parent: dict[str, str]) -> None:
        self.blocks: dict[bytes, StoredBlock] = {}
        for name in parent:
            self._add(name, parent)

    def _add(self, name: str, parent: dict[str, str]) -> StoredBlock:
        key = name.encode()
        if key not in self.blocks:
            up = parent[name]
            height = 0 if not up else self._add(up, parent).height + 1
            self.blocks[key] = StoredBlock(key, up.encode(), height, height, b"")
        return self.blocks[key]

    def block(self, block_hash: bytes) -> StoredBlock | None:
        return self.blocks.get(block_hash)

    def children(self, block_hash: bytes) -> list[StoredBlock]:
        return [b for b in self.blocks.values() if b.parent == block_hash and b.height > 0]


# G <- A <- A1            (the branch four validators voted for)
# G <- B <- B1 <- B2 <- B3 (longer, with two voters)
FORK = {"G": "", "A": "G", "a": "A", "B": "G", "b": "B", "c": "b", "d": "c"}


def test_free_voters_follow_the_most_voted_branch_not_the_longest() -> None:
    tree = Tree(FORK)
    latest = {0: {b"a"}, 2: {b"A"}, 3: {b"a"}, 1: {b"A"}, 4: {b"d"}, 5: {b"c"}}
    assert heaviest_voted_block(tree, b"G", latest) == b"a"


def test_a_tie_or_no_votes_leaves_the_choice_to_the_longest_chain() -> None:
    tree = Tree(FORK)
    assert heaviest_voted_block(tree, b"G", {0: {b"A"}, 1: {b"B"}}) is None
    assert heaviest_voted_block(tree, b"G", {}) is None
    # Votes for unknown blocks, or blocks not built on the root, weigh nothing.
    assert heaviest_voted_block(tree, b"B", {0: {b"A"}, 1: {b"zz"}}) is None
    assert heaviest_voted_block(tree, b"B", {0: {b"A"}, 1: {b"c"}}) == b"c"


def test_only_each_validators_latest_slot_counts() -> None:
    slot_voters = {3: {0: {b"A"}, 1: {b"B"}}, 5: {0: {b"d"}}, 4: {1: {b"b"}, 2: {b"a", b"c"}}}
    assert latest_votes(slot_voters) == {0: {b"d"}, 1: {b"b"}, 2: {b"a", b"c"}}
    # An equivocator's two latest votes count once on each branch.
    assert heaviest_voted_block(Tree(FORK), b"G", latest_votes(slot_voters)) == b"d"
