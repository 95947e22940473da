"""Catching up on blocks a validator missed, over its peers' messages (no networking).

A validator that receives a block whose parent it does not know (it was away, or its
messages were lost) asks the block's sender for the canonical blocks from a little below
its own head (`BlocksRequest`), never below its final block, so that a short fork of its
own connects too. The answer (`Blocks`, at most `MAX_BLOCKS_PER_BATCH` in height order) is
imported block by block through `JamChain`, which switches to the longer branch (the
longest chain keeping the final block). When the first block still does not connect, it
asks once more from its final block; after a full batch, for the next one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from shielded.node.jam_chain import ImportOutcome, InvalidBlock, JamChain
from shielded.node.jam_messages import (
    MAX_BLOCKS_PER_BATCH,
    Block,
    Blocks,
    BlocksRequest,
    Outgoing,
)

__all__ = ["BlockSync"]

log = logging.getLogger(__name__)

Importer = Callable[[bytes], ImportOutcome]


class BlockSync:
    """Validator `index`'s side of catching up on `chain`, importing through `importer`."""

    def __init__(self, chain: JamChain, index: int, importer: Importer) -> None:
        self.chain = chain
        self.index = index
        self.importer = importer
        self.asked: int | None = None
        """The height the outstanding request starts at."""

    def request_from(self) -> int:
        """Where to ask from: H blocks below the head (a short fork of its own connects),
        never below the final block."""
        head, final = self.chain.head, self.chain.finalized
        return max(final.height, head.height - self.chain.spec.recent_history_size) + 1

    def _request(self, peer: int, height: int) -> Outgoing:
        self.asked = height
        return Outgoing((peer,), BlocksRequest(self.index, height, MAX_BLOCKS_PER_BATCH))

    def on_block(self, message: Block) -> tuple[bool, list[Outgoing]]:
        """Import a peer's block (InvalidBlock if it breaks a rule); whether the head
        moved, and a request to its sender if its parent is unknown."""
        outcome = self.importer(message.block)
        if outcome.status == "orphan":
            return False, [self._request(message.sender, self.request_from())]
        return outcome.status in ("imported", "reorg"), []

    def on_request(self, message: BlocksRequest) -> list[Outgoing]:
        """Answer with up to MAX_BLOCKS_PER_BATCH canonical blocks from the height asked."""
        count = min(message.count, MAX_BLOCKS_PER_BATCH)
        blocks = self.chain.store.canonical_range(message.from_height, count)
        if not blocks or message.sender == self.index:
            return []
        return [Outgoing((message.sender,), Blocks(self.index, tuple(b.block for b in blocks)))]

    def on_blocks(self, message: Blocks) -> tuple[bool, list[Outgoing]]:
        """Import canonical blocks in order, stopping at one that breaks a rule or does not
        connect; whether the head moved, and a further request when needed."""
        asked, self.asked = self.asked, None
        moved = False
        for position, encoded in enumerate(message.blocks):
            try:
                outcome = self.importer(encoded)
            except InvalidBlock as error:
                log.info("validator %d: synced block refused: %s", self.index, error)
                return moved, []
            if outcome.status == "orphan":
                deeper = self.chain.finalized.height + 1
                if position == 0 and asked is not None and asked > deeper:
                    return moved, [self._request(message.sender, deeper)]
                return moved, []
            moved = moved or outcome.status in ("imported", "reorg")
        if len(message.blocks) == MAX_BLOCKS_PER_BATCH and asked is not None:
            return moved, [self._request(message.sender, asked + MAX_BLOCKS_PER_BATCH)]
        return moved, []
