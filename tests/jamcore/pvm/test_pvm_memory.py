"""Paged RAM (A.7): access rights, fault addresses, lazily mapped large regions."""

from __future__ import annotations

import pytest

from jamcore.pvm.assembler import assemble
from jamcore.pvm.exits import PANIC, MemoryFault, MemoryPanic, PvmError
from jamcore.pvm.host import MODES, Mode, run
from jamcore.pvm.machine import MachineState
from jamcore.pvm.memory import EAGER_PAGES, PAGE_SIZE, Memory
from jamcore.pvm.program import Program


def test_fault_reports_the_lowest_inaccessible_page() -> None:
    memory = Memory()
    memory.map(0x20000, PAGE_SIZE, writable=False)
    assert memory.read(0x20FFE, 2) == bytes(2)
    with pytest.raises(MemoryFault) as fault:
        memory.read(0x20FFE, 4)
    assert fault.value.address == 0x21000
    with pytest.raises(MemoryFault) as fault:
        memory.write(0x20000, b"\x01")
    assert fault.value.address == 0x20000
    with pytest.raises(MemoryPanic):
        memory.read(0x100, 1)


def test_large_regions_are_mapped_lazily() -> None:
    memory = Memory()
    memory.map(0x100000, 1 << 30, writable=True)
    assert len(memory.readable) == 0
    assert memory.read(0x100000 + 12345, 3) == bytes(3)
    memory.write(0x100000 + 5000, b"abc")
    assert len(memory.readable) == 1
    assert memory.load(0x100000 + 5000, 2) == int.from_bytes(b"ab", "little")


def test_later_mappings_override_rights() -> None:
    memory = Memory()
    memory.map(0x100000, (EAGER_PAGES + 1) * PAGE_SIZE, writable=True)
    memory.write(0x100000, b"\x07")
    memory.map(0x100000, (EAGER_PAGES + 1) * PAGE_SIZE, writable=False)
    with pytest.raises(MemoryFault):
        memory.write(0x100000, b"\x01")
    with pytest.raises(MemoryFault):
        memory.write(0x101000, b"\x01")
    assert memory.read(0x100000, 1) == b"\x07"
    memory.map(0x101000, PAGE_SIZE, writable=True)
    memory.write(0x101000, b"\x01")


def test_mapping_outside_the_address_space_is_rejected() -> None:
    with pytest.raises(PvmError, match="outside the 32-bit space"):
        Memory().map(0xFFFFF000, 2 * PAGE_SIZE, writable=True)
    with pytest.raises(PvmError, match="not all mapped"):
        Memory().poke(0x20000, b"x")


@pytest.mark.parametrize("mode", MODES)
def test_huge_sbrk_does_not_allocate_the_heap(mode: Mode) -> None:
    memory = Memory()
    memory.heap_pointer = 0x100000
    state = MachineState.create(pc=0, gas=100, registers=[0] * 7 + [2**31] + [0] * 5,
                                memory=memory)
    text = "sbrk r1, r7\nstore_imm_ind_u8 r1, 0x7FFFFFF0, 9\nload_ind_u8 r2, r1, 0x10\ntrap"
    assert run(Program.from_blob(assemble(text)), state, mode=mode) == PANIC
    assert state.registers[1] == 0x100000
    assert len(state.memory.readable) == 1
    assert state.memory.read(0x100000 + 0x7FFFFFF0, 1) == b"\x09"
