"""A commitment tree whose stored levels are read chunk by chunk on first touch.

`LazyMerkleTree` is a `merkle_tree.MerkleTree` over `LazyLevel`s, so the tree's own code
(appends, paths, chunk tracking) runs unchanged while only the chunks it touches are read:
an append reads at most the last chunk of each stored level (the frontier). The native pool
service reads its trees this way, through host calls (`shielded.pool_lazy`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import cast, overload

from shielded.notes.errors import ensure
from shielded.notes.merkle_tree import ChunkId, MerkleTree

__all__ = ["LazyLevel", "LazyMerkleTree"]


class LazyLevel:
    """One stored level of a tree: a list-like of `len` nodes whose chunks of 2^width nodes
    are read (`load(index)`, None if absent) on first touch; nodes appended beyond the stored
    ones live in memory. It does what `MerkleTree` does with a level's list: `len`, indexing
    and step-1 slicing, `__setitem__`, `append`, `extend`, `clear`, iteration."""

    __slots__ = ("_span", "_size", "_stored", "_chunks", "_load", "_what")

    def __init__(
        self, width: int, size: int, load: Callable[[int], list[int] | None], what: str = ""
    ) -> None:
        self._span = 1 << width
        self._size = self._stored = size
        self._chunks: dict[int, list[int]] = {}
        self._load = load
        self._what = what

    def __len__(self) -> int:
        return self._size

    def _chunk(self, index: int) -> list[int]:
        chunk = self._chunks.get(index)
        if chunk is None:
            expected = min(self._span, self._stored - index * self._span)
            chunk = self._load(index) if expected > 0 else []
            ensure(
                chunk is not None and len(chunk) == max(expected, 0),
                f"tree chunk ({self._what}{index}): expected {expected} nodes, "
                f"got {None if chunk is None else len(chunk)}",
            )
            assert chunk is not None
            self._chunks[index] = chunk
        return chunk

    def _position(self, index: int) -> int:
        if index < 0:
            index += self._size
        if not 0 <= index < self._size:
            raise IndexError(f"level index {index} out of range (size {self._size})")
        return index

    @overload
    def __getitem__(self, index: int) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> list[int]: ...

    def __getitem__(self, index: int | slice) -> int | list[int]:
        if isinstance(index, int):
            position = self._position(index)
            return self._chunk(position // self._span)[position % self._span]
        start, stop, step = index.indices(self._size)
        if step != 1:
            return [self[i] for i in range(start, stop, step)]
        nodes: list[int] = []
        while start < stop:
            chunk, offset = divmod(start, self._span)
            take = min(stop - start, self._span - offset)
            nodes.extend(self._chunk(chunk)[offset : offset + take])
            start += take
        return nodes

    def __setitem__(self, index: int, value: int) -> None:
        position = self._position(index)
        self._chunk(position // self._span)[position % self._span] = value

    def append(self, value: int) -> None:
        self._chunk(self._size // self._span).append(value)
        self._size += 1

    def extend(self, values: Iterable[int]) -> None:
        for value in values:
            self.append(value)

    def clear(self) -> None:
        """Empty the level; its stored chunks are never read again."""
        self._size = self._stored = 0
        self._chunks = {}

    def __iter__(self) -> Iterator[int]:
        for index in range(-(-self._size // self._span)):
            yield from self._chunk(index)


class LazyMerkleTree(MerkleTree):
    """A `MerkleTree` of `size` leaves over `LazyLevel`s: `read_chunk(chunk)` gives the
    nodes a chunk item holds (None if absent) when the tree first touches it."""

    def __init__(
        self, depth: int, size: int, read_chunk: Callable[[ChunkId], list[int] | None]
    ) -> None:
        super().__init__(depth)
        ensure(0 <= size <= self.capacity, f"tree size {size} exceeds the capacity")
        levels = {
            level: LazyLevel(
                self.width(level),
                -(-size >> level) if size else 0,
                lambda index, level=level: read_chunk((level, index)),
                f"{level}, ",
            )
            for level in self.stored_levels
        }
        # A LazyLevel does everything MerkleTree does with a level's list.
        self._levels = cast("dict[int, list[int]]", levels)
