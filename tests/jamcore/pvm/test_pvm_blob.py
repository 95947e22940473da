"""Program blob decoding (A.2) and standard program initialisation (A.37-A.43)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jamcore.pvm.blob import (
    HALT_ADDRESS,
    INPUT_SIZE,
    ZONE_SIZE,
    ProgramCode,
    StandardProgram,
    deblob,
    standard_program,
)
from jamcore.pvm.exits import PvmBlobError
from jamcore.pvm.memory import PAGE_SIZE

# jump table [7], entry size 1, 3 code octets, bitmask 0b001
VALID = bytes([1, 1, 3, 7, 0x33, 0x07, 0x02, 0b001])


def test_deblob_splits_table_code_and_bitmask() -> None:
    code = deblob(VALID)
    assert code.jump_table == (7,)
    assert code.code == bytes([0x33, 0x07, 0x02])
    assert code.bitmask == (True, False, False)


@pytest.mark.parametrize(
    "blob, reason",
    [
        (b"", "jump table length"),
        (bytes([1]), "entry size"),
        (bytes([1, 5, 0]), "entry size 5"),
        (bytes([2, 1, 3, 7, 0x33, 0x07, 0x02, 1]), "truncated"),
        (VALID[:-1], "truncated"),
        (VALID + b"\x00", "trailing"),
        (bytes([1, 1, 3, 7, 0x33, 0x07, 0x02, 0b1001]), "padding"),
        (bytes([0, 0, 0x80]), "code length"),
    ],
)
def test_invalid_blob_is_rejected(blob: bytes, reason: str) -> None:
    with pytest.raises(PvmBlobError, match=reason):
        deblob(blob)


@given(
    code=st.binary(max_size=64),
    table=st.lists(st.integers(0, 2**32 - 1), max_size=5),
    data=st.data(),
)
def test_encode_then_deblob_round_trips(code: bytes, table: list[int], data: st.DataObject) -> None:
    bitmask = tuple(data.draw(st.lists(st.booleans(), min_size=len(code), max_size=len(code))))
    program = ProgramCode(code, bitmask, tuple(table))
    assert deblob(program.encode()) == program


def test_standard_program_layout() -> None:
    blob = StandardProgram(
        read_only=b"\x01\x02", read_write=b"\x03", heap_pages=2, stack_size=100, code=VALID
    ).encode()
    state = standard_program(blob, b"args")
    memory = state.memory
    assert state.code == VALID
    assert memory.read(ZONE_SIZE, 2) == b"\x01\x02"
    heap = 2 * ZONE_SIZE + ZONE_SIZE
    assert memory.read(heap, 1) == b"\x03"
    assert heap // PAGE_SIZE in memory.writable
    assert ZONE_SIZE // PAGE_SIZE not in memory.writable
    assert memory.heap_pointer == heap + PAGE_SIZE + 2 * PAGE_SIZE
    args = 2**32 - ZONE_SIZE - INPUT_SIZE
    assert memory.read(args, 4) == b"args"
    stack_top = 2**32 - 2 * ZONE_SIZE - INPUT_SIZE
    assert (stack_top - PAGE_SIZE) // PAGE_SIZE in memory.writable
    assert state.registers[0] == HALT_ADDRESS
    assert state.registers[1] == stack_top
    assert state.registers[7] == args
    assert state.registers[8] == 4


@pytest.mark.parametrize(
    "blob, reason",
    [
        (b"\x00" * 10, "header needs 11"),
        (bytes([5, 0, 0]) + bytes(8), "truncated data"),
        (bytes(11) + (9).to_bytes(4, "little") + b"\x00", "code length 9"),
    ],
)
def test_invalid_standard_program_is_rejected(blob: bytes, reason: str) -> None:
    with pytest.raises(PvmBlobError, match=reason):
        standard_program(blob, b"")



def test_standard_program_with_a_huge_heap_allocates_lazily() -> None:
    blob = StandardProgram(b"", b"", 0xFFFF, 0xFFFFFF, VALID).encode()
    state = standard_program(blob, b"")
    assert len(state.memory.readable) == 0
    assert state.memory.is_readable(2 * ZONE_SIZE, 0xFFFF * PAGE_SIZE)
