"""Execution semantics in both modes: gas, faults, jumps, decoding corner cases, host calls
(graypaper A.1, A.7, A.17, A.18, A.33, A.44)."""

from __future__ import annotations

import pytest

from jamcore.pvm.assembler import assemble
from jamcore.pvm.blob import HALT_ADDRESS, INPUT_SIZE, ZONE_SIZE, ProgramCode, StandardProgram
from jamcore.pvm.exits import PANIC, Exit, ExitStatus, PvmError
from jamcore.pvm.host import MODES, Mode, invoke, invoke_standard, run
from jamcore.pvm.machine import MachineState
from jamcore.pvm.memory import Memory
from jamcore.pvm.program import Program

pytestmark = pytest.mark.parametrize("mode", MODES)


def _state(gas: int = 1000, memory: Memory | None = None, **regs: int) -> MachineState:
    registers = [0] * 13
    for name, value in regs.items():
        registers[int(name[1:])] = value
    return MachineState.create(pc=0, gas=gas, registers=registers, memory=memory)


def _run(text: str, state: MachineState, mode: Mode) -> Exit:
    return run(Program.from_blob(assemble(text)), state, mode=mode)


THREE = "add_imm_64 r1, r1, 1\nadd_imm_64 r1, r1, 1\ntrap"


def test_out_of_gas_at_block_entry_leaves_state_unchanged(mode: Mode) -> None:
    state = _state(gas=2)
    assert _run(THREE, state, mode).status is ExitStatus.OUT_OF_GAS
    assert (state.pc, state.gas, state.registers[1]) == (0, 2, 0)


def test_exact_gas_runs_the_block(mode: Mode) -> None:
    state = _state(gas=3)
    assert _run(THREE, state, mode) == PANIC
    assert (state.pc, state.gas, state.registers[1]) == (6, 0, 2)


def test_out_of_gas_in_a_loop_stops_at_the_loop_start(mode: Mode) -> None:
    text = "fallthrough\nloop:\nadd_imm_64 r1, r1, 1\njump loop"
    state = _state(gas=1 + 2 * 10 + 1)
    assert _run(text, state, mode).status is ExitStatus.OUT_OF_GAS
    assert (state.pc, state.gas, state.registers[1]) == (1, 1, 10)


def test_negative_gas_is_out_of_gas(mode: Mode) -> None:
    text = "loop:\nadd_imm_64 r1, r1, 1\njump loop"
    state = _state(gas=-5)
    assert _run(text, state, mode).status is ExitStatus.OUT_OF_GAS
    assert (state.pc, state.gas) == (0, -5)


def test_page_fault_keeps_block_charge_and_earlier_writes(mode: Mode) -> None:
    memory = Memory()
    memory.map(0x20000, 4096, writable=True)
    text = "load_imm r1, 7\nstore_u8 r1, 0x30000\nload_imm r2, 9\ntrap"
    state = _state(memory=memory)
    assert _run(text, state, mode) == Exit(ExitStatus.PAGE_FAULT, 0x30000)
    assert (state.pc, state.gas, state.registers[1], state.registers[2]) == (3, 996, 7, 0)


def test_store_across_pages_is_all_or_nothing(mode: Mode) -> None:
    memory = Memory()
    memory.map(0x20000, 4096, writable=True)
    memory.map(0x21000, 4096, writable=False)
    state = _state(memory=memory, r1=2**64 - 1, r2=0x20FFE)
    assert _run("store_ind_u32 r1, r2, 0\ntrap", state, mode) == Exit(
        ExitStatus.PAGE_FAULT, 0x21000
    )
    assert state.memory.read(0x20FFC, 4) == bytes(4)


def test_load_across_pages_faults_at_the_second_page(mode: Mode) -> None:
    memory = Memory()
    memory.map(0x20000, 4096, writable=False)
    state = _state(memory=memory, r2=0x20FFC)
    assert _run("load_ind_u64 r1, r2, 0\ntrap", state, mode) == Exit(
        ExitStatus.PAGE_FAULT, 0x21000
    )


def test_access_below_64k_panics(mode: Mode) -> None:
    state = _state()
    assert _run("load_u8 r1, 0xFFFF\ntrap", state, mode) == PANIC
    assert state.pc == 0


def test_address_wraps_modulo_2_32(mode: Mode) -> None:
    memory = Memory()
    memory.map(0x20000, 4096, writable=True)
    state = _state(memory=memory, r1=0x55, r2=0xFFFF_FFFF_0002_0000)
    assert _run("store_ind_u8 r1, r2, 0x10\ntrap", state, mode) == PANIC
    assert state.memory.read(0x20010, 1) == b"\x55"


@pytest.mark.parametrize(
    "address, status, pc",
    [
        (HALT_ADDRESS, ExitStatus.HALT, 0),
        (0, ExitStatus.PANIC, 0),
        (3, ExitStatus.PANIC, 0),
        (6, ExitStatus.PANIC, 0),
        (2, ExitStatus.PANIC, 5),  # lands on the trap at target
        (4, ExitStatus.PANIC, 0),  # entry 2 points inside an instruction
    ],
)
def test_dynamic_jumps(mode: Mode, address: int, status: ExitStatus, pc: int) -> None:
    code = bytes([50, 0x01, 0, 0, 0, 0, 0])  # jump_ind r1, 0; trap at 2; padding
    program = Program(
        ProgramCode(code + bytes([0]), (True, False, True, False, False, True, False, False),
                    (5, 3))
    )
    state = _state(r1=address)
    assert run(program, state, mode=mode).status is status
    assert state.pc == pc


def test_static_jump_into_the_middle_of_a_block_panics(mode: Mode) -> None:
    text = "load_imm r4, 2\nloop:\nadd_imm_64 r4, r4, -1\nbranch_ne_imm r4, 0, loop\ntrap"
    state = _state()
    assert _run(text, state, mode) == PANIC
    assert (state.pc, state.registers[4]) == (len(bytes.fromhex("330402")) + 3, 1)


def test_register_indices_are_clamped_to_12(mode: Mode) -> None:
    code = bytes([200, 0xFF, 0x0F])  # add_64 with r_A = r_B = r_D = 15 -> r12
    program = Program(ProgramCode(code, (True, False, False), ()))
    state = _state(r12=21)
    assert run(program, state, mode=mode) == PANIC
    assert state.registers[12] == 42


def test_invalid_opcode_behaves_as_trap(mode: Mode) -> None:
    program = Program(ProgramCode(bytes([255, 0]), (True, False), ()))
    state = _state()
    assert run(program, state, mode=mode) == PANIC
    assert (state.pc, state.gas) == (0, 999)


def test_sbrk_grows_the_heap(mode: Mode) -> None:
    memory = Memory()
    memory.heap_pointer = 0x30000
    state = _state(memory=memory, r2=5000)
    text = "sbrk r1, r2\nstore_imm_ind_u8 r1, 4999, 7\nsbrk r3, r0\ntrap"
    assert _run(text, state, mode) == PANIC
    assert state.registers[1] == 0x30000
    assert state.registers[3] == 0x30000 + 5000
    assert state.memory.read(0x30000 + 4999, 1) == b"\x07"


def _echo_host(index: int, state: MachineState) -> Exit | None:
    state.registers[7] = state.registers[7] * 100 + index
    state.gas -= 10
    return None


def test_host_call_resumes_after_ecalli_without_recharging(mode: Mode) -> None:
    program = Program.from_blob(assemble("ecalli 5\nadd_imm_64 r7, r7, 1\necalli 6\ntrap"))
    state = _state(gas=100, r7=1)
    assert invoke(program, state, _echo_host, mode=mode) == PANIC
    assert state.registers[7] == ((1 * 100 + 5) + 1) * 100 + 6
    assert state.gas == 100 - 4 - 20


def test_host_call_exit_stops_at_the_ecalli(mode: Mode) -> None:
    program = Program.from_blob(assemble("load_imm r1, 1\necalli 9\ntrap"))
    state = _state()
    assert run(program, state, mode=mode) == Exit(ExitStatus.HOST_CALL, 9)
    assert (state.pc, state.registers[1]) == (3, 1)
    assert invoke(program, _state(), lambda index, s: PANIC, mode=mode) == PANIC


def test_host_call_leaving_a_bad_register_is_a_host_error(mode: Mode) -> None:
    program = Program.from_blob(assemble("ecalli 1\ntrap"))

    def broken(index: int, state: MachineState) -> Exit | None:
        state.registers[3] = -1
        return None

    with pytest.raises(PvmError, match="r3 = -1"):
        invoke(program, _state(), broken, mode=mode)


def test_host_call_touching_unmapped_memory_is_a_page_fault(mode: Mode) -> None:
    program = Program.from_blob(assemble("ecalli 1\ntrap"))

    def reader(index: int, state: MachineState) -> Exit | None:
        state.memory.read(0x50000, 4)
        return None

    state = _state()
    assert invoke(program, state, reader, mode=mode) == Exit(ExitStatus.PAGE_FAULT, 0x50000)
    assert state.pc == 0


def test_host_call_running_out_of_gas(mode: Mode) -> None:
    program = Program.from_blob(assemble("ecalli 1\ntrap"))
    assert invoke(program, _state(gas=12), _echo_host, mode=mode) == PANIC
    state = _state(gas=10)  # the ecalli leaves 9, the call costs 10 (gas metered per A.1)
    assert invoke(program, state, _echo_host, mode=mode).status is ExitStatus.OUT_OF_GAS
    assert (state.pc, state.gas) == (0, -1)


def test_invoke_standard_returns_the_output_blob(mode: Mode) -> None:
    code = assemble("ecalli 3\njump_ind r0, 0")
    blob = StandardProgram(b"ro", b"", 0, 4096, code).encode()

    def host(index: int, state: MachineState) -> Exit | None:
        state.memory.write(2**32 - ZONE_SIZE - INPUT_SIZE, bytes([index]))
        return None

    result = invoke_standard(blob, 0, 50, b"hello", lambda i, s: None, mode=mode)
    assert (result.gas_used, result.output) == (2, b"hello")
    read_only_args = invoke_standard(blob, 0, 50, b"hello", host, mode=mode)
    assert read_only_args.output is ExitStatus.PANIC  # arguments are read-only: page fault
    assert invoke_standard(blob, 0, 0, b"x", host, mode=mode).output is ExitStatus.OUT_OF_GAS
    assert invoke_standard(b"bad", 0, 9, b"", host, mode=mode).output is ExitStatus.PANIC
