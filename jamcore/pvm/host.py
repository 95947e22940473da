"""Running programs and the host-call interface (graypaper A.1, Ψ_H A.33, Ψ_M A.44).

`run` executes a program in either mode until it exits, charging each basic block's gas
on entry as the w3f PVM vectors do. `invoke` is Ψ_H with A.1's gas, one unit per
instruction (`jamcore.pvm.metering`): on `ecalli` it hands the call index and the machine
state to a host-call handler and resumes after the ecalli unless the handler ends the run;
is-authorized, refine and accumulate plug their host functions in here. `invoke_standard`
is Ψ_M: standard program initialisation, Ψ_H, and the result blob or error with the gas
used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jamcore.pvm.blob import standard_program
from jamcore.pvm.exits import (
    PANIC,
    Exit,
    ExitStatus,
    MemoryFault,
    MemoryPanic,
    PvmBlobError,
    PvmError,
)
from jamcore.pvm.machine import MAX_REGISTER, MachineState
from jamcore.pvm.metering import MODES, Mode, run_block_entry, run_metered
from jamcore.pvm.program import Program

__all__ = [
    "MODES",
    "HostCall",
    "InvocationResult",
    "Mode",
    "gas_used",
    "invoke",
    "invoke_standard",
    "run",
]

HostCall = Callable[[int, MachineState], Exit | None]
"""A host-call handler f(h, state): reads and mutates gas, registers and RAM of `state`,
then returns None to continue after the ecalli, or an Exit (halt, panic, out-of-gas, page
fault) that ends the run. A `MemoryFault` or `MemoryPanic` raised by `state.memory.read` or
`write` inside the handler ends the run as that page fault or panic. A handler returning
out-of-gas for a call costing g > ϱ need not take g off: ϱ' = ϱ - g < 0 (B.7) and the run
is left with no gas either way."""


def run(
    program: Program, state: MachineState, *, mode: Mode = "fast", charge_entry: bool = True
) -> Exit:
    """Ψ (A.1) as the w3f PVM vectors run it, each basic block's gas charged on entry: run
    `program` from `state` until it exits; `state` is updated in place. Invocations use
    `invoke` (or `jamcore.pvm.metering.run_metered`), which meter per instruction."""
    return run_block_entry(program, state, mode=mode, charge_entry=charge_entry)


def invoke(
    program: Program, state: MachineState, host_call: HostCall, *, mode: Mode = "fast"
) -> Exit:
    """Ψ_H (A.33) over Ψ with A.1's gas (`run_metered`): run, servicing host calls with
    `host_call` until a non-host exit. A handler sees the exact counter (the ecalli paid,
    nothing after it); execution resumes at the instruction following the ecalli."""
    resume = False
    while True:
        exit_ = run_metered(program, state, mode=mode, resume=resume)
        if exit_.status is not ExitStatus.HOST_CALL:
            return exit_
        ecalli_pc = state.pc
        try:
            outcome = host_call(exit_.value, state)
        except MemoryFault as fault:  # the handler touched inaccessible RAM
            outcome = Exit(ExitStatus.PAGE_FAULT, fault.address)
        except MemoryPanic:
            outcome = PANIC
        if outcome is not None:
            if outcome.status is ExitStatus.HOST_CALL:
                raise PvmError("a host-call handler cannot end a run with a host call")
            if outcome.status is ExitStatus.OUT_OF_GAS:
                # The call cost more than ϱ: ϱ' = ϱ - g < 0 (B.7), so no gas is left
                state.gas = min(state.gas, 0)
            state.pc = ecalli_pc
            return outcome
        for i, value in enumerate(state.registers):
            if not 0 <= value <= MAX_REGISTER:
                raise PvmError(f"host call {exit_.value} left r{i} = {value}, not below 2^64")
        # Verify the call's gas was covered (ϱ' < 0 is out of gas, A.33)
        if state.gas < 0:
            return Exit(ExitStatus.OUT_OF_GAS)
        state.pc = program.instruction(ecalli_pc).next_pc
        resume = True


def gas_used(limit: int, state: MachineState) -> int:
    """u = ϱ - max(ϱ', 0) (eq. A.44): the gas an invocation used, its limit less what
    is left; with A.1's metering an out-of-gas run has none left."""
    return limit - max(state.gas, 0)


@dataclass(frozen=True)
class InvocationResult:
    """Ψ_M's result: gas used and either the output blob or the failing exit status."""

    gas_used: int
    output: bytes | ExitStatus


def invoke_standard(
    blob: bytes,
    pc: int,
    gas: int,
    arguments: bytes,
    host_call: HostCall,
    *,
    mode: Mode = "fast",
) -> InvocationResult:
    """Ψ_M (A.44): initialise a standard program with `arguments`, run it with host calls
    and read the output ω_7..ω_7+ω_8 on halt."""
    try:
        initial = standard_program(blob, arguments)
        program = Program.from_blob(initial.code)
    except PvmBlobError:
        return InvocationResult(0, PANIC.status)
    state = MachineState(pc, gas, list(initial.registers), initial.memory)
    exit_ = invoke(program, state, host_call, mode=mode)
    used = gas_used(gas, state)
    if exit_.status is ExitStatus.OUT_OF_GAS:
        return InvocationResult(used, ExitStatus.OUT_OF_GAS)
    if exit_.status is ExitStatus.HALT:
        start, length = state.registers[7], state.registers[8]
        if state.memory.is_readable(start, length):
            return InvocationResult(used, state.memory.read(start, length))
        return InvocationResult(used, b"")
    return InvocationResult(used, ExitStatus.PANIC)
