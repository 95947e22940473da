"""PVM RAM (graypaper 4.7, A.7): 2^32 octets in 4096-octet pages, each inaccessible,
read-only or writable.

Pages are stored sparsely: `readable` maps a page number to its bytearray and `writable`
holds the same bytearray objects for the writable subset, so the common in-page access is
one dict lookup and one `struct` call. Large regions are mapped lazily (see EAGER_PAGES).
An access that touches an inaccessible index raises `MemoryFault` with the lowest
faulting page address, or `MemoryPanic` when that index is below 2^16 (A.7); a faulting
store changes nothing.
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


EAGER_PAGES = 16
"""Regions up to this many pages get their bytearrays at once; larger ones (a big heap,
stack or sbrk) are mapped lazily and materialised page by page on first write, so a
program cannot make the host allocate gigabytes by asking for them."""
_ZERO_PAGE = bytes(PAGE_SIZE)
NO_ACCESS, READ, WRITE = 0, 1, 2


class Memory:
    """Sparse paged RAM with per-page access rights and the sbrk heap pointer.

    A page's rights come from the materialised dicts when it is in `readable`, else from
    the newest lazily mapped zero region covering it."""

    __slots__ = ("readable", "writable", "heap_pointer", "_zero_regions")

    def __init__(self) -> None:
        self.readable: dict[int, bytearray] = {}
        self.writable: dict[int, bytearray] = {}
        self.heap_pointer = 0
        self._zero_regions: list[tuple[int, int, bool]] = []

    # -- layout ---------------------------------------------------------------------------

    def map(self, address: int, length: int, *, writable: bool) -> None:
        """Make the pages covering [address, address + length) accessible (zero-filled if
        new); `writable` grants write access, otherwise the pages become read-only."""
        if not (0 <= address and 0 <= length and address + length <= 1 << 32):
            raise PvmError(f"region {address:#x}+{length:#x} is outside the 32-bit space")
        if length == 0:
            return
        first, end = address >> PAGE_BITS, ((address + length - 1) >> PAGE_BITS) + 1
        if end - first > EAGER_PAGES:
            for page in [p for p in self.readable if first <= p < end]:
                self._set_rights(page, self.readable[page], writable)
            self._zero_regions.append((first, end, writable))
            return
        for page in range(first, end):
            data = self.readable.get(page)
            if data is None:
                data = bytearray(PAGE_SIZE)  # a lazily mapped page is still all zeros
                self.readable[page] = data
            self._set_rights(page, data, writable)

    def _set_rights(self, page: int, data: bytearray, writable: bool) -> None:
        if writable:
            self.writable[page] = data
        else:
            self.writable.pop(page, None)

    def _access(self, page: int) -> int:
        """NO_ACCESS, READ or WRITE for one page."""
        if page in self.writable:
            return WRITE
        if page in self.readable:
            return READ
        return self._access_lazy(page)

    def _materialise(self, page: int) -> bytearray:
        """The bytearray of an accessible page, creating it for a lazily mapped one."""
        data = self.readable.get(page)
        if data is None:
            data = bytearray(PAGE_SIZE)
            self.readable[page] = data
            if self._access_lazy(page) == WRITE:
                self.writable[page] = data
        return data

    def _access_lazy(self, page: int) -> int:
        """The rights the newest lazily mapped region covering `page` grants."""
        for first, end, writable in reversed(self._zero_regions):
            if first <= page < end:
                return WRITE if writable else READ
        return NO_ACCESS

    def poke(self, address: int, data: bytes) -> None:
        """Set initial contents of already mapped pages, ignoring write protection."""
        try:
            self._check(address, len(data), READ)
        except (MemoryFault, MemoryPanic):
            raise PvmError(
                f"cannot initialise {len(data)} octets at {address:#x}: not all mapped"
            ) from None
        self._copy_in(address, data)

    def _copy_in(self, address: int, data: bytes) -> None:
        done = 0
        while done < len(data):
            index = (address + done) & ADDRESS_MASK
            offset = index & (PAGE_SIZE - 1)
            chunk = min(PAGE_SIZE - offset, len(data) - done)
            page = self._materialise(index >> PAGE_BITS)
            page[offset : offset + chunk] = data[done : done + chunk]
            done += chunk

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
        self._check(address, length, READ)
        parts = []
        done = 0
        while done < length:
            index = (address + done) & ADDRESS_MASK
            offset = index & (PAGE_SIZE - 1)
            chunk = min(PAGE_SIZE - offset, length - done)
            page = self.readable.get(index >> PAGE_BITS, _ZERO_PAGE)
            parts.append(bytes(page[offset : offset + chunk]))
            done += chunk
        return b"".join(parts)

    def write(self, address: int, data: bytes) -> None:
        """Store `data` at indices (address + i) mod 2^32, all or nothing."""
        self._check(address, len(data), WRITE)
        self._copy_in(address, data)

    def is_readable(self, address: int, length: int) -> bool:
        """Whether every index of [address, address + length) is readable (no wrap)."""
        if address + length > 1 << 32:
            return False
        if length == 0:
            return True
        first, last = address >> PAGE_BITS, (address + length - 1) >> PAGE_BITS
        return all(self._access(page) != NO_ACCESS for page in range(first, last + 1))

    def _check(self, address: int, length: int, needed: int) -> None:
        """Raise for the lowest inaccessible index among the `length` accessed ones."""
        i = 0
        while i < length:
            index = (address + i) & ADDRESS_MASK
            if self._access(index >> PAGE_BITS) < needed:
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
        """Every materialised page as (page address, contents, writable), in address
        order; lazily mapped pages never written are zero and not listed."""
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
        clone._zero_regions = list(self._zero_regions)
        return clone

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Memory):
            return NotImplemented
        return (
            self.readable == other.readable
            and self.writable.keys() == other.writable.keys()
            and self.heap_pointer == other.heap_pointer
            and self._zero_regions == other._zero_regions
        )

    __hash__ = None  # type: ignore[assignment]
