"""The latest-message fork choice that brings free voters to the branch the votes favour."""

from __future__ import annotations

from shielded.node.vote_weight import heaviest_voted_block, latest_votes


class Tree:
    """Blocks named by one letter; `parent` maps each to its parent ('' for the root)."""

    def __init__(self, parent: dict[str, str]) -> None:
        self.parent = {name.encode(): up.encode() for name, up in parent.items()}

    def height(self, block: bytes) -> int:
        return 0 if not self.parent[block] else self.height(self.parent[block]) + 1

    def link(self, block_hash: bytes) -> tuple[bytes, int] | None:
        if block_hash not in self.parent:
            return None
        return self.parent[block_hash], self.height(block_hash)

    def child_hashes(self, block_hash: bytes) -> list[bytes]:
        return [b for b, up in self.parent.items() if up == block_hash and up]


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
