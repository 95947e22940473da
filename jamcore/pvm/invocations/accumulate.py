"""Ψ_A, the accumulate invocation (graypaper 0.7.2 Appendix B.5, eq. B.9-B.13).

One service's accumulation: credit the incoming transfers, run the service code's
accumulate entry point (pc 5) under Ψ_M with the host-call mutator F over the context pair
(x, y), and collapse the pair with C: the exceptional dimension y on panic or
out-of-gas, the regular dimension x otherwise, with a 32-octet output as the yield.

Gas is metered as A.1 says, one unit per instruction executed (`metered_invoke`). The PVM
engine charges a basic block's whole cost on entry (as the PVM vectors expect); that differs
wherever a host call reads the counter inside a block (`gas`, `checkpoint`, each call's own
out-of-gas check) and wherever a run ends inside one (a panic, a fault, a host call that
panics, or gas running out part-way), and the gas used is the service's statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from jamcore.codec import encode_natural
from jamcore.crypto.hashing import blake2b_256
from jamcore.pvm import host_calls as hc
from jamcore.pvm.blob import standard_program
from jamcore.pvm.exits import (
    OUT_OF_GAS,
    PANIC,
    Exit,
    ExitStatus,
    MemoryFault,
    MemoryPanic,
    PvmBlobError,
)
from jamcore.pvm.host import HostCall, Mode, gas_used, invoke
from jamcore.pvm.host_calls import accumulate as acc
from jamcore.pvm.host_calls import general
from jamcore.pvm.interpreter import HANDLERS
from jamcore.pvm.invocations.compiled import lazily_compiled
from jamcore.pvm.invocations.context import (
    AccumulationInput,
    ContextPair,
    DeferredTransfer,
    Implications,
)
from jamcore.pvm.invocations.partial_state import PartialState
from jamcore.pvm.machine import MachineState
from jamcore.pvm.program import Program
from jamcore.spec import ChainSpec

ACCUMULATE_ENTRY = 5
"""The instruction counter of the accumulate entry point (eq. B.9)."""
LOG_GAS = 10
"""Gas of JIP-1's `log`: 10 like every host call, as both the stf/accumulate vectors and the
traces charge it (the stf README's 0 is not what its vectors do)."""
_PROGRAM_CACHE_LIMIT = 32
_programs: dict[bytes, Program] = {}


@dataclass(frozen=True)
class AccumulationOutcome:
    """O (eq. 12.18): the post-state e, deferred transfers t, yield y, gas used u and
    provisions p of one service's accumulation."""

    state: PartialState
    transfers: tuple[DeferredTransfer, ...]
    yielded: bytes | None
    gas_used: int
    provisions: frozenset[tuple[int, bytes]]


def _program(code: bytes) -> Program:
    """The decoded program of a program blob, cached by its contents."""
    program = _programs.get(code)
    if program is None:
        program = lazily_compiled(Program.from_blob(code))
        if len(_programs) >= _PROGRAM_CACHE_LIMIT:
            _programs.pop(next(iter(_programs)))
        _programs[code] = program
    return program


def _taken_ids(state: PartialState):  # noqa: ANN202 - a small closure
    """K(d) of the invocation's starting state, as a membership test for check."""
    changed = state.changed_accounts()
    base = state.base

    def taken(service: int) -> bool:
        if service in changed:
            return changed[service] is not None
        return service in base

    return taken


def initial_service_id(service: int, entropy: bytes, slot: int, taken) -> int:  # noqa: ANN001
    """x_i of I(e, s) (eq. B.10): check((E_4^-1(H(E(s, η'_0, H_t))) mod (2^32 - S - 2^8))
    + S)."""
    # E(s, η'_0, H_t): s and H_t in the general natural encoding (no subscript), as written
    digest = blake2b_256(encode_natural(service) + entropy + encode_natural(slot))
    start = int.from_bytes(digest[:4], "little") % (2**32 - acc.MIN_PUBLIC_INDEX - 2**8)
    return acc.next_service_id(start + acc.MIN_PUBLIC_INDEX, taken)


class _Mutator:
    """F (eq. B.11): dispatches one host call over the context pair."""

    __slots__ = ("pair", "slot", "spec", "fetch_data", "taken", "log_gas")

    def __init__(
        self,
        pair: ContextPair,
        slot: int,
        spec: ChainSpec,
        fetch_data: general.FetchData,
        taken,  # noqa: ANN001
        log_gas: int,
    ) -> None:
        self.pair = pair
        self.slot = slot
        self.spec = spec
        self.fetch_data = fetch_data
        self.taken = taken
        self.log_gas = log_gas

    def __call__(self, index: int, state: MachineState) -> Exit | None:
        pair = self.pair
        if index == hc.TRANSFER:
            return acc.transfer(state, pair, hc.HOST_CALL_GAS)
        cost = self.log_gas if index == hc.LOG else hc.HOST_CALL_GAS
        if state.gas < cost:
            return OUT_OF_GAS
        state.gas -= cost
        x = pair.x
        if index == hc.READ:
            return general.read(state, x.state.view(x.id), x.id, x.state)
        if index == hc.WRITE:
            own = x.own
            assert own is not None
            return general.write(state, own)
        if index == hc.LOOKUP:
            return general.lookup(state, x.state.view(x.id), x.id, x.state)
        if index == hc.GAS:
            return general.gas(state)
        if index == hc.FETCH:
            return general.fetch(state, self.fetch_data)
        if index == hc.INFO:
            return general.info(state, x.id, x.state)
        if index == hc.LOG:
            return general.log(state)
        spec = self.spec
        if index == hc.BLESS:
            return acc.bless(state, pair, spec.cores_count)
        if index == hc.ASSIGN:
            return acc.assign(state, pair, spec.cores_count, general.AUTH_QUEUE_SIZE)
        if index == hc.DESIGNATE:
            return acc.designate(state, pair, spec.validators_count)
        if index == hc.CHECKPOINT:
            return acc.checkpoint(state, pair)
        if index == hc.NEW:
            return acc.new(state, pair, self.slot, self.taken)
        if index == hc.UPGRADE:
            return acc.upgrade(state, pair)
        if index == hc.EJECT:
            return acc.eject(state, pair, self.slot, spec.preimage_expunge_period)
        if index == hc.QUERY:
            return acc.query(state, pair)
        if index == hc.SOLICIT:
            return acc.solicit(state, pair, self.slot)
        if index == hc.FORGET:
            return acc.forget(state, pair, self.slot, spec.preimage_expunge_period)
        if index == hc.YIELD:
            return acc.yield_(state, pair)
        if index == hc.PROVIDE:
            return acc.provide(state, pair)
        state.registers[7] = hc.WHAT
        return None


def accumulate(
    state: PartialState,
    slot: int,
    service: int,
    gas: int,
    inputs: Sequence[AccumulationInput],
    *,
    entropy: bytes,
    spec: ChainSpec,
    log_gas: int = LOG_GAS,
    mode: Mode = "fast",
) -> AccumulationOutcome:
    """Ψ_A(e, t, s, g, i) (eq. B.9), mutating and returning `state` (or a checkpoint
    copy of it) as the post-state. `slot` is both τ' and H_t."""
    own = state.account(service)
    if own is None:
        return AccumulationOutcome(state, (), None, 0, frozenset())
    credit = sum(i.amount for i in inputs if type(i) is DeferredTransfer)
    if credit:
        own.info = replace(own.info, balance=own.info.balance + credit)
    code = own.code
    # Verify the service has code of at most W_C octets
    if code is None or len(code) > general.MAX_SERVICE_CODE:
        return AccumulationOutcome(state, (), None, 0, frozenset())

    taken = _taken_ids(state)
    x = Implications(service, state, initial_service_id(service, entropy, slot, taken))
    pair = ContextPair(x, x.copy())
    fetch_data = general.FetchData(
        constants=general.protocol_constants(spec),
        entropy=entropy,
        inputs=[i.encode() for i in inputs],
    )
    arguments = encode_natural(slot) + encode_natural(service) + encode_natural(len(inputs))
    try:
        initial = standard_program(code, arguments)
        program = _program(initial.code)
    except PvmBlobError:
        return _collapse(pair, 0, None)
    machine = MachineState(ACCUMULATE_ENTRY, gas, list(initial.registers), initial.memory)
    mutator = _Mutator(pair, slot, spec, fetch_data, taken, log_gas)
    exit_ = metered_invoke(program, machine, mutator, mode=mode)
    used = gas_used(gas, machine, exit_)
    if exit_.status is ExitStatus.HALT:
        start, length = machine.registers[7], machine.registers[8]
        result = b""
        if machine.memory.is_readable(start, length):
            result = machine.memory.read(start, length) if length else b""
        return _collapse(pair, used, result)
    return _collapse(pair, used, None)


class _Metering:
    """The host-call handler of `metered_invoke`: gives `host_call` the gas counter of
    A.1 (without the prepaid rest of the ecalli's block) and finishes a block the gas
    cannot pay for in full. `exact` is set once the machine's counter is A.1's."""

    __slots__ = ("program", "host_call", "exact")

    def __init__(self, program: Program, host_call: HostCall) -> None:
        self.program = program
        self.host_call = host_call
        self.exact = False

    def __call__(self, index: int, state: MachineState) -> Exit | None:
        program = self.program
        # The engine charged the block on entry: the instructions after the ecalli are paid
        prepaid = program.block_cost(state.pc) - 1
        state.gas += prepaid
        try:
            outcome = self.host_call(index, state)
        except MemoryFault as fault:  # the handler touched inaccessible RAM
            outcome = Exit(ExitStatus.PAGE_FAULT, fault.address)
        except MemoryPanic:
            outcome = PANIC
        if outcome is not None:
            self.exact = True
            return outcome
        if state.gas >= prepaid:
            state.gas -= prepaid
            return None
        self.exact = True
        if state.gas < 0:
            return OUT_OF_GAS
        return run_unpaid(program, state, program.instruction(state.pc).next_pc, self.host_call)


def run_unpaid(program: Program, state: MachineState, pc: int, host_call: HostCall) -> Exit:
    """Ψ_H (A.1, A.33) from `pc` inside a basic block whose remaining instructions cost more
    than the gas ϱ left: each instruction takes 1 from ϱ and runs (an ecalli calls
    `host_call`), until one finds ϱ = 0 (out of gas, its effects dropped), faults or
    panics. The block's terminator is never reached, since ϱ < the instructions left."""
    regs, memory = state.registers, state.memory
    while True:
        # Verify the instruction can be paid for (ϱ' = ϱ - 1 < 0 is out of gas, A.1)
        if state.gas < 1:
            state.pc = pc
            return OUT_OF_GAS
        ins = program.instruction(pc)
        state.gas -= 1
        try:
            step = HANDLERS[ins.opcode.number](program, ins, regs, memory)
        except MemoryFault as fault:
            step = Exit(ExitStatus.PAGE_FAULT, fault.address)
        except MemoryPanic:
            step = PANIC
        if type(step) is Exit:
            state.pc = pc
            if step.status is not ExitStatus.HOST_CALL:
                return step
            try:
                outcome = host_call(step.value, state)
            except MemoryFault as fault:
                return Exit(ExitStatus.PAGE_FAULT, fault.address)
            except MemoryPanic:
                return PANIC
            if outcome is not None:
                return outcome
            if state.gas < 0:
                return OUT_OF_GAS
            step = ins.next_pc
        pc = step


def metered_invoke(
    program: Program, machine: MachineState, host_call: HostCall, *, mode: Mode = "fast"
) -> Exit:
    """Ψ_H (A.33) over Ψ (A.1) with A.1's gas: one unit per instruction executed, the one
    that faults or panics included (as the 0.7.2 conformance traces charge it). The engine
    charges a block on entry; where the run ends inside a block this gives back the
    unexecuted rest, where a block cannot be paid in full it runs the instructions the gas
    pays for, and host calls see A.1's counter."""
    metering = _Metering(program, host_call)
    exit_ = invoke(program, machine, metering, mode=mode)
    if metering.exact:
        return exit_
    status = exit_.status
    if status is ExitStatus.PANIC or status is ExitStatus.PAGE_FAULT:
        # Verify nothing after the failing instruction is charged
        machine.gas += program.block_cost(machine.pc) - 1
    elif status is ExitStatus.OUT_OF_GAS:
        # The engine stopped at the entry of a block it could not pay for in full
        return run_unpaid(program, machine, machine.pc, host_call)
    return exit_


def _collapse(pair: ContextPair, used: int, result: bytes | None) -> AccumulationOutcome:
    """C (eq. B.12): y on panic or out-of-gas (`result` None), else x, its yield replaced
    by a 32-octet output."""
    if result is None:
        y = pair.y
        return AccumulationOutcome(
            y.state, tuple(y.transfers), y.yielded, used, frozenset(y.provisions)
        )
    x = pair.x
    yielded = result if len(result) == 32 else x.yielded
    return AccumulationOutcome(x.state, tuple(x.transfers), yielded, used, frozenset(x.provisions))
