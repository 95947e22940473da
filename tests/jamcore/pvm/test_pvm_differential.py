"""The fast path gives exactly the interpreter's results on random programs."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from jamcore.pvm.assembler import assemble
from jamcore.pvm.blob import ProgramCode
from jamcore.pvm.exits import Exit
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
