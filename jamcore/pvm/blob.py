"""Program blobs (graypaper A.2 `deblob`, A.37-A.43 standard program initialisation Y).

`deblob` splits a program blob into instruction data c, opcode bitmask k and dynamic jump
table j. `standard_program` decodes the service code format (read-only data, read-write
data, heap pages, stack size, code) and lays out registers and RAM for an argument string.
Malformed input raises `PvmBlobError` before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from jamcore.codec import CodecError, decode_natural
from jamcore.pvm.exits import PvmBlobError
from jamcore.pvm.memory import PAGE_SIZE, Memory

MAX_JUMP_ENTRY_SIZE = 4
"""Jump-table entries index the code, so wider entries than 32 bits are rejected."""

ZONE_SIZE = 1 << 16
"""Z_Z: the major zone size of the standard layout."""
INPUT_SIZE = 1 << 24
"""Z_I: the largest argument string."""
HALT_ADDRESS = (1 << 32) - (1 << 16)
"""The dynamic jump address that halts the machine (A.18); also the initial return
address in ω_0."""


@dataclass(frozen=True)
class ProgramCode:
    """The deblobbed program: instruction data c, bitmask k (one bool per octet of c) and
    dynamic jump table j (A.2)."""

    code: bytes
    bitmask: tuple[bool, ...]
    jump_table: tuple[int, ...]

    def encode(self) -> bytes:
        """The blob E(|j|) ++ E_1(z) ++ E(|c|) ++ E_z(j) ++ E(c) ++ E(k) for this program,
        with the smallest entry size z that fits every jump-table entry."""
        from jamcore.codec import encode_natural

        size = max((max(1, (entry.bit_length() + 7) // 8) for entry in self.jump_table), default=0)
        packed = bytearray((len(self.bitmask) + 7) // 8)
        for i, bit in enumerate(self.bitmask):
            if bit:
                packed[i >> 3] |= 1 << (i & 7)
        return b"".join(
            [
                encode_natural(len(self.jump_table)),
                bytes((size,)),
                encode_natural(len(self.code)),
                b"".join(entry.to_bytes(size, "little") for entry in self.jump_table),
                self.code,
                bytes(packed),
            ]
        )


def _natural(blob: bytes, offset: int, what: str) -> tuple[int, int]:
    try:
        return decode_natural(blob, offset)
    except CodecError as error:
        raise PvmBlobError(f"program blob: bad {what} at offset {offset}: {error}") from None


def deblob(blob: bytes) -> ProgramCode:
    """Split a program blob into (c, k, j) (A.2); PvmBlobError unless it decodes uniquely:
    no truncation, no trailing octets, zero bitmask padding."""
    blob = bytes(blob)
    count, pos = _natural(blob, 0, "jump table length")
    if pos >= len(blob):
        raise PvmBlobError("program blob: truncated before the jump-table entry size")
    entry_size = blob[pos]
    pos += 1
    if entry_size > MAX_JUMP_ENTRY_SIZE:
        raise PvmBlobError(
            f"program blob: jump-table entry size {entry_size} exceeds {MAX_JUMP_ENTRY_SIZE}"
        )
    code_length, pos = _natural(blob, pos, "code length")
    table_end = pos + count * entry_size
    code_end = table_end + code_length
    mask_end = code_end + (code_length + 7) // 8
    if mask_end > len(blob):
        raise PvmBlobError(
            f"program blob: truncated: jump table ({count} x {entry_size} octets), code "
            f"({code_length}) and bitmask need {mask_end} octets, blob has {len(blob)}"
        )
    if mask_end < len(blob):
        raise PvmBlobError(
            f"program blob: {len(blob) - mask_end} trailing octets after the bitmask"
        )
    jump_table = tuple(
        int.from_bytes(blob[pos + i * entry_size : pos + (i + 1) * entry_size], "little")
        for i in range(count)
    )
    code = blob[table_end:code_end]
    packed = blob[code_end:mask_end]
    if code_length % 8 and packed[-1] >> (code_length % 8):
        raise PvmBlobError(
            f"program blob: bitmask padding bits beyond code length {code_length} are not zero"
        )
    bitmask = tuple(bool(packed[i >> 3] >> (i & 7) & 1) for i in range(code_length))
    return ProgramCode(code, bitmask, jump_table)


def _page_round(x: int) -> int:
    """P(x): x rounded up to a whole number of pages (A.39)."""
    return -(-x // PAGE_SIZE) * PAGE_SIZE


def _zone_round(x: int) -> int:
    """Q(x): x rounded up to a whole number of major zones (A.39)."""
    return -(-x // ZONE_SIZE) * ZONE_SIZE


@dataclass(frozen=True)
class StandardProgram:
    """The standard program format (A.38): read-only data o, read-write data w, z extra
    heap pages, stack size s, and the program blob c."""

    read_only: bytes
    read_write: bytes
    heap_pages: int
    stack_size: int
    code: bytes

    def encode(self) -> bytes:
        """E_3(|o|) ++ E_3(|w|) ++ E_2(z) ++ E_3(s) ++ o ++ w ++ E_4(|c|) ++ c."""
        return b"".join(
            [
                len(self.read_only).to_bytes(3, "little"),
                len(self.read_write).to_bytes(3, "little"),
                self.heap_pages.to_bytes(2, "little"),
                self.stack_size.to_bytes(3, "little"),
                self.read_only,
                self.read_write,
                len(self.code).to_bytes(4, "little"),
                self.code,
            ]
        )


def decode_standard_program(blob: bytes) -> StandardProgram:
    """Parse the standard program format (A.38); PvmBlobError if it does not fit exactly
    or violates the address-space bound of A.40."""
    blob = bytes(blob)
    if len(blob) < 11:
        raise PvmBlobError(f"standard program: {len(blob)} octets, the header needs 11")
    ro_len = int.from_bytes(blob[0:3], "little")
    rw_len = int.from_bytes(blob[3:6], "little")
    heap_pages = int.from_bytes(blob[6:8], "little")
    stack_size = int.from_bytes(blob[8:11], "little")
    pos = 11 + ro_len + rw_len
    if pos + 4 > len(blob):
        raise PvmBlobError(
            f"standard program: truncated data sections (need {pos + 4} octets, "
            f"have {len(blob)})"
        )
    code_len = int.from_bytes(blob[pos : pos + 4], "little")
    if pos + 4 + code_len != len(blob):
        raise PvmBlobError(
            f"standard program: code length {code_len} does not match the "
            f"{len(blob) - pos - 4} remaining octets"
        )
    program = StandardProgram(
        read_only=blob[11 : 11 + ro_len],
        read_write=blob[11 + ro_len : pos],
        heap_pages=heap_pages,
        stack_size=stack_size,
        code=blob[pos + 4 :],
    )
    total = (
        5 * ZONE_SIZE
        + _zone_round(ro_len)
        + _zone_round(rw_len + heap_pages * PAGE_SIZE)
        + _zone_round(stack_size)
        + INPUT_SIZE
    )
    if total > 1 << 32:
        raise PvmBlobError(f"standard program: layout needs {total:#x} octets, over 2^32")
    return program


@dataclass(frozen=True)
class InitialState:
    """Y(p, a): the program blob c with the initial registers and RAM (A.37-A.43)."""

    code: bytes
    registers: tuple[int, ...]
    memory: Memory


def standard_program(blob: bytes, arguments: bytes) -> InitialState:
    """Y(p, a): decode a standard program and lay out RAM and registers (A.41, A.42)."""
    if len(arguments) > INPUT_SIZE:
        raise PvmBlobError(f"argument data of {len(arguments)} octets exceeds Z_I = 2^24")
    program = decode_standard_program(blob)
    o, w, a = program.read_only, program.read_write, bytes(arguments)
    memory = Memory()
    memory.map(ZONE_SIZE, _page_round(len(o)), writable=False)
    memory.poke(ZONE_SIZE, o)
    heap_start = 2 * ZONE_SIZE + _zone_round(len(o))
    heap_end = heap_start + _page_round(len(w)) + program.heap_pages * PAGE_SIZE
    memory.map(heap_start, heap_end - heap_start, writable=True)
    memory.poke(heap_start, w)
    memory.heap_pointer = heap_end
    stack_top = (1 << 32) - 2 * ZONE_SIZE - INPUT_SIZE
    stack_size = _page_round(program.stack_size)
    memory.map(stack_top - stack_size, stack_size, writable=True)
    args_start = (1 << 32) - ZONE_SIZE - INPUT_SIZE
    memory.map(args_start, _page_round(len(a)), writable=False)
    memory.poke(args_start, a)
    registers = [0] * 13
    registers[0] = HALT_ADDRESS
    registers[1] = stack_top
    registers[7] = args_start
    registers[8] = len(a)
    return InitialState(program.code, tuple(registers), memory)
