"""The reference PVM interpreter: Ψ (A.1) as a loop over Ψ_1, one instruction at a time.

Each handler below is one row (or one family of rows) of the instruction tables in
graypaper A.5 and returns either the next instruction counter or an `Exit`. Gas is
charged per basic block on entry, as explained in `jamcore.pvm.program`.
"""

from __future__ import annotations

from collections.abc import Callable

from jamcore.pvm import semantics as sem
from jamcore.pvm.blob import HALT_ADDRESS
from jamcore.pvm.exits import (
    HALT,
    OUT_OF_GAS,
    PANIC,
    Exit,
    ExitStatus,
    MemoryFault,
    MemoryPanic,
)
from jamcore.pvm.instructions import TERMINATORS
from jamcore.pvm.machine import MachineState
from jamcore.pvm.memory import ADDRESS_MASK, Memory
from jamcore.pvm.program import Instruction, Program

Step = int | Exit
Handler = Callable[[Program, Instruction, list[int], Memory], Step]
M64 = sem.M64


def branch(program: Program, ins: Instruction, target: int, condition: bool) -> Step:
    """branch(b, C) (A.17): continue, jump to a basic-block start, or panic."""
    if not condition:
        return ins.next_pc
    if target not in program.basic_blocks:
        return PANIC
    return target


def djump(program: Program, address: int) -> Step:
    """djump(a) (A.18): halt at 2^32 - 2^16, else jump via the table or panic."""
    if address == HALT_ADDRESS:
        return HALT
    target = program.jump_targets.get(address)
    return PANIC if target is None else target


def _trap(program: Program, ins: Instruction, regs: list[int], mem: Memory) -> Step:
    return PANIC


def _fallthrough(program: Program, ins: Instruction, regs: list[int], mem: Memory) -> Step:
    return ins.next_pc


def _ecalli(program: Program, ins: Instruction, regs: list[int], mem: Memory) -> Step:
    return Exit(ExitStatus.HOST_CALL, ins.args[0])


def _load_imm_64(program: Program, ins: Instruction, regs: list[int], mem: Memory) -> Step:
    ra, value = ins.args
    regs[ra] = value
    return ins.next_pc


def _store_imm(program: Program, ins: Instruction, regs: list[int], mem: Memory) -> Step:
    address, value = ins.args
    mem.store(address & ADDRESS_MASK, sem.STORE_WIDTH[ins.opcode.number], value)
    return ins.next_pc


def _jump(program: Program, ins: Instruction, regs: list[int], mem: Memory) -> Step:
    return branch(program, ins, ins.args[0], True)


def _jump_ind(program: Program, ins: Instruction, regs: list[int], mem: Memory) -> Step:
    ra, offset = ins.args
    return djump(program, (regs[ra] + offset) & ADDRESS_MASK)


def _load_imm(program: Program, ins: Instruction, regs: list[int], mem: Memory) -> Step:
    ra, value = ins.args
    regs[ra] = value
    return ins.next_pc


def _load(program: Program, ins: Instruction, regs: list[int], mem: Memory) -> Step:
    width, is_signed = sem.LOAD_WIDTH[ins.opcode.number]
    if len(ins.args) == 2:  # load_xx: r_A, address ν_X
        ra, address = ins.args
    else:  # load_ind_xx: r_A, r_B, ν_X with address ω_B + ν_X
        ra, rb, offset = ins.args
        address = regs[rb] + offset
    value = mem.load(address & ADDRESS_MASK, width)
    regs[ra] = sem.extend_loaded(value, width, is_signed)
    return ins.next_pc


def _store(program: Program, ins: Instruction, regs: list[int], mem: Memory) -> Step:
    width = sem.STORE_WIDTH[ins.opcode.number]
    if len(ins.args) == 2:  # store_xx: value ω_A at ν_X
        ra, address = ins.args
    else:  # store_ind_xx: value ω_A at ω_B + ν_X
        ra, rb, offset = ins.args
        address = regs[rb] + offset
    mem.store(address & ADDRESS_MASK, width, regs[ra])
    return ins.next_pc


def _store_imm_ind(program: Program, ins: Instruction, regs: list[int], mem: Memory) -> Step:
    ra, offset, value = ins.args
    mem.store((regs[ra] + offset) & ADDRESS_MASK, sem.STORE_WIDTH[ins.opcode.number], value)
    return ins.next_pc


def _load_imm_jump(program: Program, ins: Instruction, regs: list[int], mem: Memory) -> Step:
    ra, value, target = ins.args
    regs[ra] = value
    return branch(program, ins, target, True)


def _branch_imm(program: Program, ins: Instruction, regs: list[int], mem: Memory) -> Step:
    ra, value, target = ins.args
    return branch(program, ins, target, sem.BRANCH[ins.opcode.number](regs[ra], value))


def _unary(program: Program, ins: Instruction, regs: list[int], mem: Memory) -> Step:
    rd, ra = ins.args
    regs[rd] = sem.UNARY[ins.opcode.number](regs[ra])
    return ins.next_pc


def _sbrk(program: Program, ins: Instruction, regs: list[int], mem: Memory) -> Step:
    rd, ra = ins.args
    regs[rd] = mem.sbrk(regs[ra])
    return ins.next_pc


def _with_immediate(program: Program, ins: Instruction, regs: list[int], mem: Memory) -> Step:
    ra, rb, value = ins.args
    regs[ra] = sem.WITH_IMMEDIATE[ins.opcode.number](regs[ra], regs[rb], value)
    return ins.next_pc


def _branch_reg(program: Program, ins: Instruction, regs: list[int], mem: Memory) -> Step:
    ra, rb, target = ins.args
    return branch(program, ins, target, sem.BRANCH[ins.opcode.number](regs[ra], regs[rb]))


def _load_imm_jump_ind(
    program: Program, ins: Instruction, regs: list[int], mem: Memory
) -> Step:
    ra, rb, value, offset = ins.args
    address = (regs[rb] + offset) & ADDRESS_MASK  # ω_B is read before ω_A is written
    regs[ra] = value
    return djump(program, address)


def _three_register(program: Program, ins: Instruction, regs: list[int], mem: Memory) -> Step:
    ra, rb, rd = ins.args
    regs[rd] = sem.THREE_REGISTER[ins.opcode.number](regs[ra], regs[rb], regs[rd])
    return ins.next_pc


HANDLERS: dict[int, Handler] = {
    0: _trap,
    1: _fallthrough,
    10: _ecalli,
    20: _load_imm_64,
    40: _jump,
    50: _jump_ind,
    51: _load_imm,
    80: _load_imm_jump,
    101: _sbrk,
    180: _load_imm_jump_ind,
    **{op: _store_imm for op in (30, 31, 32, 33)},
    **{op: _load for op in sem.LOAD_WIDTH},
    **{op: _store for op in (59, 60, 61, 62, 120, 121, 122, 123)},
    **{op: _store_imm_ind for op in (70, 71, 72, 73)},
    **{op: _branch_imm for op in range(81, 91)},
    **{op: _unary for op in sem.UNARY},
    **{op: _with_immediate for op in sem.WITH_IMMEDIATE},
    **{op: _branch_reg for op in range(170, 176)},
    **{op: _three_register for op in sem.THREE_REGISTER},
}
"""Opcode -> handler, one for every opcode in U."""


def run(program: Program, state: MachineState, *, charge_entry: bool = True) -> Exit:
    """Ψ (A.1): execute until an exit, updating `state` in place.

    On exit `state.pc` is the instruction that caused it (for a host call, the ecalli).
    `charge_entry=False` resumes inside a block whose gas has already been paid (after a
    host call)."""
    regs, memory = state.registers, state.memory
    pc, gas = state.pc, state.gas
    enter = charge_entry
    decoded: dict[int, tuple[Instruction, Handler, bool]] = {}
    while True:
        if enter:
            cost = program.block_cost(pc)
            if gas < cost:
                state.pc, state.gas = pc, gas
                return OUT_OF_GAS
            gas -= cost
        entry = decoded.get(pc)
        if entry is None:
            ins = program.instruction(pc)
            number = ins.opcode.number
            entry = decoded[pc] = (ins, HANDLERS[number], number in TERMINATORS)
        ins, handler, terminator = entry
        try:
            step = handler(program, ins, regs, memory)
        except MemoryFault as fault:
            step = Exit(ExitStatus.PAGE_FAULT, fault.address)
        except MemoryPanic:
            step = PANIC
        if type(step) is Exit:
            state.pc, state.gas = pc, gas
            return step
        enter = terminator
        pc = step
