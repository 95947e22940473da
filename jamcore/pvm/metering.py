"""Gas metered instruction by instruction (graypaper 0.7.2 A.1) over the block-charging
engines.

A.1 takes one unit of gas per instruction executed: ϱ' = ϱ - 1, out of gas (the
instruction's effects dropped) when ϱ' < 0. The engines (`jamcore.pvm.interpreter`,
`jamcore.pvm.fast`) charge a basic block's whole cost on entry instead, as the w3f PVM
vectors expect (`jamcore.pvm.host.run` keeps that for them). The two agree whenever a run
passes whole blocks; `run_metered` corrects the rest:

- an exit inside a block (panic, page fault, host call) gives back the unexecuted rest,
  the exiting instruction costing 1 (as the 0.7.2 conformance traces charge it);
- a block the gas cannot cover in full runs instruction by instruction until the gas is
  out (or an earlier exit);
- resuming inside a block (after a host call, or at a faulted instruction) pays the rest
  of that block up front, or runs it instruction by instruction when the gas cannot.

So a host call sees A.1's counter, and an out-of-gas run has used all its gas.
"""

from __future__ import annotations

from typing import Literal

from jamcore.pvm import fast, interpreter
from jamcore.pvm.exits import (
    OUT_OF_GAS,
    PANIC,
    Exit,
    ExitStatus,
    MemoryFault,
    MemoryPanic,
    PvmError,
)
from jamcore.pvm.interpreter import HANDLERS
from jamcore.pvm.machine import MachineState
from jamcore.pvm.program import Program

Mode = Literal["interpreter", "fast"]
MODES: tuple[Mode, ...] = ("interpreter", "fast")

_INSIDE_A_BLOCK = (ExitStatus.PANIC, ExitStatus.PAGE_FAULT, ExitStatus.HOST_CALL)


def run_block_entry(
    program: Program, state: MachineState, *, mode: Mode = "fast", charge_entry: bool = True
) -> Exit:
    """Ψ (A.1) with each basic block's gas charged on entry (the PVM vectors' model).

    `charge_entry=False` starts inside a block whose gas is already paid."""
    if mode == "fast":
        return fast.run(program, state, charge_entry=charge_entry)
    if mode == "interpreter":
        return interpreter.run(program, state, charge_entry=charge_entry)
    raise PvmError(f"unknown execution mode {mode!r}, expected one of {MODES}")


def run_metered(
    program: Program, state: MachineState, *, mode: Mode = "fast", resume: bool = False
) -> Exit:
    """Ψ (A.1) with A.1's gas: one unit per instruction executed; `state` is updated in
    place and on exit `state.pc` is the instruction that caused it (for a host call the
    ecalli, charged).

    `resume` says `state.pc` may lie inside a basic block (the instruction after a serviced
    ecalli, or a faulted instruction run again), whose rest is paid here rather than as a
    block entry by the engine."""
    if resume:
        rest = program.block_cost(state.pc)
        # Verify the rest of the block can be paid at once, else go instruction by instruction
        if state.gas < rest:
            return run_unpaid(program, state)
        state.gas -= rest
        exit_ = run_block_entry(program, state, mode=mode, charge_entry=False)
    else:
        exit_ = run_block_entry(program, state, mode=mode)
    status = exit_.status
    if status is ExitStatus.OUT_OF_GAS:
        # The engine stopped at the entry of a block it could not pay for in full
        return run_unpaid(program, state)
    if status in _INSIDE_A_BLOCK:
        # Verify nothing after the exiting instruction is charged
        state.gas += program.block_cost(state.pc) - 1
    return exit_


def run_unpaid(program: Program, state: MachineState) -> Exit:
    """Ψ (A.1) from `state.pc`, one instruction at a time with nothing prepaid: each
    takes 1 from ϱ and runs, until one finds ϱ < 1 (out of gas, its effects dropped) or
    exits (halt, panic, page fault, or a host call left for the caller, ϱ charged)."""
    regs, memory = state.registers, state.memory
    pc, gas = state.pc, state.gas
    while True:
        # Verify the instruction can be paid for (ϱ' = ϱ - 1 < 0 is out of gas, A.1)
        if gas < 1:
            state.pc, state.gas = pc, gas
            return OUT_OF_GAS
        ins = program.instruction(pc)
        gas -= 1
        try:
            step = HANDLERS[ins.opcode.number](program, ins, regs, memory)
        except MemoryFault as fault:
            step = Exit(ExitStatus.PAGE_FAULT, fault.address)
        except MemoryPanic:
            step = PANIC
        if type(step) is Exit:
            state.pc, state.gas = pc, gas
            return step
        pc = step
