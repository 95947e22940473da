"""The fast path gives exactly the interpreter's results on random programs."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from jamcore.pvm.assembler import assemble
from jamcore.pvm.blob import ProgramCode
from jamcore.pvm.exits import Exit
from jamcore.pvm.fast import regions
from jamcore.pvm.host import invoke, run
from jamcore.pvm.machine import MachineState
from jamcore.pvm.program import Program
from tests.jamcore.pvm.pvm_strategies import assembly_programs, machine_states, raw_programs

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _clone(state: MachineState) -> MachineState:
    return MachineState(state.pc, state.gas, list(state.registers), state.memory.copy())


def _outcome(exit_: Exit, state: MachineState) -> tuple[object, ...]:
    return (exit_, state.pc, state.gas, state.registers, state.memory)


def _host_call(index: int, state: MachineState) -> Exit | None:
    """A deterministic host function: mixes the call index into r7 and charges gas."""
    state.registers[7] = (state.registers[7] * 31 + index) % 2**64
    state.gas -= 3
    return None


def _compare_modes(program_code: ProgramCode, state: MachineState) -> None:
    outcomes = []
    for mode in ("interpreter", "fast"):
        program = Program(program_code)
        machine = _clone(state)
        outcomes.append(_outcome(run(program, machine, mode=mode), machine))
    assert outcomes[0] == outcomes[1]
    with_host = []
    for mode in ("interpreter", "fast"):
        program = Program(program_code)
        machine = _clone(state)
        with_host.append(_outcome(invoke(program, machine, _host_call, mode=mode), machine))
    assert with_host[0] == with_host[1]


@SETTINGS
@given(text=assembly_programs(), state=machine_states())
def test_fast_path_matches_interpreter_on_assembled_programs(
    text: str, state: MachineState
) -> None:
    code = Program.from_blob(assemble(text))
    _compare_modes(ProgramCode(code.code, code.bitmask, code.jump_table), state)


@SETTINGS
@given(code=raw_programs(), state=machine_states())
def test_fast_path_matches_interpreter_on_arbitrary_code(
    code: ProgramCode, state: MachineState
) -> None:
    _compare_modes(code, state)


COLLATZ = """
    load_imm r1, 27
    load_imm r4, 50
    fallthrough
loop:
    and_imm r5, r1, 1
    branch_eq_imm r5, 0, even
    mul_imm_64 r1, r1, 3
    add_imm_64 r1, r1, 1
    store_ind_u64 r1, r9, 0
    jump next
even:
    shlo_r_imm_64 r1, r1, 1
    fallthrough
next:
    add_imm_64 r4, r4, -1
    branch_ne_imm r4, 0, loop
    jump_ind r0, 0
"""


def test_multi_block_loop_matches_interpreter_at_every_gas_limit() -> None:
    """Gas runs out in every block of a compiled multi-block region, and the page fault
    inside it, at the same state as in the interpreter."""
    code = Program.from_blob(assemble(COLLATZ))
    program_code = ProgramCode(code.code, code.bitmask, code.jump_table)
    for gas in range(0, 120):
        for r9 in (0x20000, 0x50000):  # writable page, then unmapped: page fault
            state = MachineState(0, gas, [2**32 - 2**16] + [0] * 8 + [r9] + [0] * 3)
            state.memory.map(0x20000, 4096, writable=True)
            _compare_modes(program_code, state)


def test_regions_are_the_multi_block_strongly_connected_components() -> None:
    program = Program.from_blob(assemble(COLLATZ))
    loop_blocks = sorted(program.basic_blocks - {0, max(program.basic_blocks)})
    assert regions(program) == [loop_blocks]
    self_loop = Program.from_blob(assemble("fallthrough\nl:\nadd_imm_64 r1, r1, 1\njump l"))
    assert regions(self_loop) == []
