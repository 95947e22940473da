"""The lazily translated fast path gives exactly the interpreter's results, whether every
block is translated up front into one unit, each block becomes its own unit on first entry,
or blocks stay in the interpreted tier."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from jamcore.pvm import fast
from jamcore.pvm.assembler import assemble
from jamcore.pvm.blob import ProgramCode
from jamcore.pvm.exits import Exit, ExitStatus
from jamcore.pvm.host import invoke, run
from jamcore.pvm.machine import MachineState
from jamcore.pvm.program import Program
from tests.jamcore.pvm.pvm_strategies import assembly_programs, machine_states, raw_programs
from tests.jamcore.pvm.test_pvm_differential import COLLATZ
from tests.jamcore.pvm.vector_cases import (
    expected_memory,
    initial_state,
    load_case,
    nonzero_memory,
)
from tests.vectors import vector_params

SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TIERS = ("eager", "per-block", "lazy")


@pytest.fixture(autouse=True)
def _restore_factor() -> Iterator[None]:
    factor = fast.TRANSLATE_FACTOR
    yield
    fast.TRANSLATE_FACTOR = factor


def _fast_program(code: ProgramCode, tier: str) -> Program:
    """A fresh program whose fast path translates as `tier` says."""
    program = Program(code)
    if tier == "eager":
        program.compiled = fast.CompiledProgram(program, eager=True)
    else:
        fast.TRANSLATE_FACTOR = 0 if tier == "per-block" else 24
        program.compiled = fast.CompiledProgram(program)
    return program


def _clone(state: MachineState) -> MachineState:
    return MachineState(state.pc, state.gas, list(state.registers), state.memory.copy())


def _outcome(exit_: Exit, state: MachineState) -> tuple[object, ...]:
    return (exit_, state.pc, state.gas, state.registers, state.memory)


def _host_call(index: int, state: MachineState) -> Exit | None:
    state.registers[7] = (state.registers[7] * 31 + index) % 2**64
    state.gas -= 3
    return None


def _compare(code: ProgramCode, state: MachineState, repeats: int = 1) -> None:
    expected = _clone(state)
    reference = _outcome(run(Program(code), expected, mode="interpreter"), expected)
    expected_host = _clone(state)
    reference_host = _outcome(
        invoke(Program(code), expected_host, _host_call, mode="interpreter"), expected_host
    )
    for tier in TIERS:
        program = _fast_program(code, tier)
        for _ in range(repeats):  # later runs use the units earlier runs translated
            machine = _clone(state)
            assert _outcome(run(program, machine, mode="fast"), machine) == reference, tier
            machine = _clone(state)
            outcome = _outcome(invoke(program, machine, _host_call, mode="fast"), machine)
            assert outcome == reference_host, tier


@SETTINGS
@given(text=assembly_programs(), state=machine_states())
def test_translated_units_match_interpreter_on_assembled_programs(
    text: str, state: MachineState
) -> None:
    code = Program.from_blob(assemble(text))
    _compare(ProgramCode(code.code, code.bitmask, code.jump_table), state, repeats=2)


@SETTINGS
@given(code=raw_programs(), state=machine_states())
def test_translated_units_match_interpreter_on_arbitrary_code(
    code: ProgramCode, state: MachineState
) -> None:
    _compare(code, state)


CALLS = """
    load_imm r2, 40
    fallthrough
outer:
    load_imm_jump r0, 2, body       ; call: r0 = return address (jump-table entry 1)
back:
    add_imm_64 r2, r2, -1
    ecalli 7
    branch_ne_imm r2, 0, outer
    jump_ind r10, 0
body:
    add_64 r1, r1, r2
    store_ind_u64 r1, r9, 8
    load_ind_u32 r3, r9, 12
    xor r1, r1, r3
    jump_ind r0, 0                  ; return
"""


def test_calls_returns_and_host_calls_match_at_every_gas_limit() -> None:
    """Gas runs out in every block of a unit that calls, returns through the jump table
    and makes host calls, and a page fault stops it, as in the interpreter."""
    code = Program.from_blob(assemble(CALLS))
    call = next(pc for pc in code.basic_blocks if code.block(pc)[-1].opcode.number == 80)
    back = code.block(call)[-1].next_pc
    program_code = ProgramCode(code.code, code.bitmask, (back,))
    for gas in range(0, 400, 7):
        for r9 in (0x20000, 0x50000):
            state = MachineState(0, gas, [0] * 9 + [r9, 2**32 - 2**16, 0, 0])
            state.memory.map(0x20000, 4096, writable=True)
            _compare(program_code, state, repeats=2)


def test_collatz_region_matches_at_every_gas_limit() -> None:
    code = Program.from_blob(assemble(COLLATZ))
    program_code = ProgramCode(code.code, code.bitmask, code.jump_table)
    for gas in range(0, 120):
        for r9 in (0x20000, 0x50000):
            state = MachineState(0, gas, [2**32 - 2**16] + [0] * 8 + [r9] + [0] * 3)
            state.memory.map(0x20000, 4096, writable=True)
            _compare(program_code, state)


def test_hot_blocks_are_translated_once_and_shared_by_equal_programs() -> None:
    blob = assemble(COLLATZ)
    first = Program.from_blob(blob)
    state = MachineState(0, 10_000, [2**32 - 2**16] + [0] * 8 + [0x20000] + [0] * 3)
    state.memory.map(0x20000, 4096, writable=True)
    assert run(first, state, mode="fast").status is ExitStatus.HALT
    compiled = fast.compile_program(first)
    assert compiled.entries, "the loop should have been translated"
    second = Program.from_blob(blob)
    assert fast.compile_program(second) is compiled


@pytest.mark.parametrize("tier", ("eager", "per-block"))
@pytest.mark.parametrize("path", vector_params("pvm/programs"))
def test_program_vector_translated(path: Path, tier: str) -> None:
    case = load_case(path)
    code = Program.from_blob(bytes(case["program"]))
    program = _fast_program(ProgramCode(code.code, code.bitmask, code.jump_table), tier)
    state = initial_state(case)

    exit_ = run(program, state, mode="fast")

    assert exit_.status is ExitStatus(case["expected-status"])
    if exit_.status is ExitStatus.PAGE_FAULT:
        assert exit_.value == case["expected-page-fault-address"]
    assert state.registers == case["expected-regs"]
    assert state.pc == case["expected-pc"]
    assert state.gas == case["expected-gas"]
    assert nonzero_memory(state.memory) == expected_memory(case)


COPY_LOOP = """
    load_imm r2, 24
    fallthrough
copy:
    load_ind_u8 r3, r8, 0           ; a single-block loop: it iterates in place
    add_imm_64 r2, r2, -1
    store_ind_u8 r3, r10, 0
    add_imm_64 r10, r10, 1
    add_imm_64 r8, r8, 1
    branch_ne_imm r2, 0, copy
    store_ind_u64 r8, r9, 8         ; accesses sharing one page lookup (or resuming)
    store_ind_u64 r10, r9, 0        ; adjacent words: one multi-word struct call
    load_ind_u64 r4, r9, 0
    load_ind_u64 r3, r9, 8
    load_ind_u64 r3, r9, 0
    load_ind_u32 r11, r8, -4
    sbrk r5, r6
    store_ind_u16 r4, r5, 4094      ; a page the heap just made writable
    load_ind_u16 r12, r5, 4094
    store_imm_u32 134912, 77
    load_ind_u32 r7, r9, 8
    jump_ind r0, 0
"""


@pytest.mark.parametrize("readable_tail", (False, True))
def test_copy_loop_groups_and_heap_match_at_every_gas_limit(readable_tail: bool) -> None:
    """A self-looping block, grouped accesses whose page ends mid-group (the rest of the
    block then runs in the reference semantics), cached pages across sbrk and constant
    addresses give the interpreter's results wherever gas runs out or a fault stops."""
    code = Program.from_blob(assemble(COPY_LOOP))
    program_code = ProgramCode(code.code, code.bitmask, code.jump_table)
    for gas in range(0, 220, 3):
        for source, target, r9 in (
            (0x20FF0, 0x20800, 0x20FF8), (0x20100, 0x20FF4, 0x20100), (0x20100, 0x20800, 0x20100)
        ):
            registers = [2**32 - 2**16] + [0] * 12
            registers[6], registers[8], registers[9], registers[10] = 4096, source, r9, target
            state = MachineState(0, gas, registers)
            state.memory.map(0x20000, 4096, writable=True)
            if readable_tail:
                state.memory.map(0x21000, 4096, writable=False)
            state.memory.heap_pointer = 0x30000
            _compare(program_code, state, repeats=2)
