"""PVM RAM (graypaper 4.7, A.7): 2^32 octets in 4096-octet pages, each inaccessible,
read-only or writable.

Pages are stored sparsely: `readable` maps a page number to its bytearray and `writable`
holds the same bytearray objects for the writable subset, so the common in-page access is
one dict lookup and one slice. An access that touches an inaccessible index raises
`MemoryFault` with the lowest faulting page address, or `MemoryPanic` when that index is
below 2^16 (A.7); a faulting store changes nothing.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from jamcore.pvm.exits import MemoryFault, MemoryPanic, PvmError

PAGE_SIZE = 4096
"""Z_P: the PVM page size in octets."""
PAGE_BITS = 12
ADDRESS_MASK = 0xFFFFFFFF
LOW_ADDRESS_LIMIT = 1 << 16
"""Indices below this always panic when inaccessible (A.7)."""

_FORMATS = ((1, "B"), (2, "H"), (4, "I"), (8, "Q"))
_UNPACK = {width: struct.Struct(f"<{code}").unpack_from for width, code in _FORMATS}
_PACK = {width: struct.Struct(f"<{code}").pack_into for width, code in _FORMATS}
_MASK = {w: (1 << 8 * w) - 1 for w in (1, 2, 4, 8)}


class Memory:
    """Sparse paged RAM with per-page access rights and the sbrk heap pointer."""

    __slots__ = ("readable", "writable", "heap_pointer")

    def __init__(self) -> None:
        self.readable: dict[int, bytearray] = {}
        self.writable: dict[int, bytearray] = {}
        self.heap_pointer = 0

    # -- layout ---------------------------------------------------------------------------

    def map(self, address: int, length: int, *, writable: bool) -> None:
        """Make the pages covering [address, address + length) accessible (zero-filled if
        new); `writable` grants write access, otherwise the pages become read-only."""
        if not (0 <= address and 0 <= length and address + length <= 1 << 32):
            raise PvmError(f"region {address:#x}+{length:#x} is outside the 32-bit space")
        if length == 0:
            return
        for page in range(address >> PAGE_BITS, (address + length - 1 >> PAGE_BITS) + 1):
            data = self.readable.get(page)
            if data is None:
                data = bytearray(PAGE_SIZE)
                self.readable[page] = data
            if writable:
                self.writable[page] = data
            else:
                self.writable.pop(page, None)

    def poke(self, address: int, data: bytes) -> None:
        """Set initial contents of already mapped pages, ignoring write protection."""
        for i, byte in enumerate(data):
            index = (address + i) & ADDRESS_MASK
            page = self.readable.get(index >> PAGE_BITS)
            if page is None:
                raise PvmError(f"cannot initialise unmapped address {index:#x}")
            page[index & (PAGE_SIZE - 1)] = byte

    # -- access by the machine (A.7) --------------------------------------------------------

    def load(self, address: int, width: int) -> int:
        """The little-endian natural at [address, address + width) (address < 2^32)."""
        page = self.readable.get(address >> PAGE_BITS)
        offset = address & (PAGE_SIZE - 1)
        if page is not None and offset + width <= PAGE_SIZE:
            return _UNPACK[width](page, offset)[0]
        return int.from_bytes(self.read(address, width), "little")

    def store(self, address: int, width: int, value: int) -> None:
        """Write `value` mod 2^(8 width) little-endian at [address, address + width)."""
        page = self.writable.get(address >> PAGE_BITS)
        offset = address & (PAGE_SIZE - 1)
        if page is not None and offset + width <= PAGE_SIZE:
            _PACK[width](page, offset, value & _MASK[width])
            return
        self.write(address, (value & _MASK[width]).to_bytes(width, "little"))

    def read(self, address: int, length: int) -> bytes:
        """The octets at indices (address + i) mod 2^32; MemoryFault/MemoryPanic at the
        lowest unreadable one."""
        self._check(address, length, self.readable)
        return bytes(
            self.readable[(address + i & ADDRESS_MASK) >> PAGE_BITS][
                address + i & (PAGE_SIZE - 1)
            ]
            for i in range(length)
        )

    def write(self, address: int, data: bytes) -> None:
        """Store `data` at indices (address + i) mod 2^32, all or nothing."""
        self._check(address, len(data), self.writable)
        for i, byte in enumerate(data):
            index = address + i & ADDRESS_MASK
            self.writable[index >> PAGE_BITS][index & (PAGE_SIZE - 1)] = byte

    def is_readable(self, address: int, length: int) -> bool:
        """Whether every index of [address, address + length) is readable (no wrap)."""
        if address + length > 1 << 32:
            return False
        if length == 0:
            return True
        first, last = address >> PAGE_BITS, (address + length - 1) >> PAGE_BITS
        return all(page in self.readable for page in range(first, last + 1))

    @staticmethod
    def _check(address: int, length: int, pages: dict[int, bytearray]) -> None:
        """Raise for the lowest inaccessible index among the `length` accessed ones."""
        i = 0
        while i < length:
            index = (address + i) & ADDRESS_MASK
            if (index >> PAGE_BITS) not in pages:
                if index < LOW_ADDRESS_LIMIT:
                    raise MemoryPanic(index)
                raise MemoryFault(index & ~(PAGE_SIZE - 1))
            i += PAGE_SIZE - (index & (PAGE_SIZE - 1))

    # -- sbrk (A.5.9) -----------------------------------------------------------------------

    def sbrk(self, size: int) -> int:
        """Grow the heap by `size` octets: returns the previous heap pointer and makes the
        new range writable; 0 (and no change) if it would leave the 32-bit space."""
        start = self.heap_pointer
        if size == 0:
            return start
        end = start + size
        if end > 1 << 32:
            return 0
        self.map(start, size, writable=True)
        self.heap_pointer = end
        return start

    # -- inspection -------------------------------------------------------------------------

    def pages(self) -> Iterator[tuple[int, bytes, bool]]:
        """Every accessible page as (page address, contents, writable), in address order."""
        for page in sorted(self.readable):
            yield page << PAGE_BITS, bytes(self.readable[page]), page in self.writable

    def copy(self) -> Memory:
        """An independent copy with the same contents and access rights."""
        clone = Memory()
        for page, data in self.readable.items():
            copied = bytearray(data)
            clone.readable[page] = copied
            if page in self.writable:
                clone.writable[page] = copied
        clone.heap_pointer = self.heap_pointer
        return clone

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Memory):
            return NotImplemented
        return (
            self.readable == other.readable
            and self.writable.keys() == other.writable.keys()
            and self.heap_pointer == other.heap_pointer
        )

    __hash__ = None  # type: ignore[assignment]
