"""Ψ_A, the accumulate invocation (graypaper 0.7.2 Appendix B.5, eq. B.9-B.13).

One service's accumulation: credit the incoming transfers, run the service code's
accumulate entry point (pc 5) under Ψ_M with the host-call mutator F over the context pair
(x, y), and collapse the pair with C: the exceptional dimension y on panic or
out-of-gas, the regular dimension x otherwise, with a 32-octet output as the yield.

Gas is metered as A.1 says, one unit per instruction executed, by Ψ_H
(`jamcore.pvm.host.invoke`, see `jamcore.pvm.metering`): host calls (`gas`, `checkpoint`,
each call's own out-of-gas check) see the exact counter, and the gas used is the service's
statistics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from jamcore.codec import encode_natural
from jamcore.crypto.hashing import blake2b_256
from jamcore.pvm import host_calls as hc
from jamcore.pvm.blob import standard_program
from jamcore.pvm.exits import (
    OUT_OF_GAS,
    Exit,
    ExitStatus,
    PvmBlobError,
)
from jamcore.pvm.host import Mode, gas_used, invoke
from jamcore.pvm.host_calls import accumulate as acc
from jamcore.pvm.host_calls import general
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

if TYPE_CHECKING:
    from jamcore.pvm.invocations.native import NativeService

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
        program = Program.from_blob(code)  # fast.run attaches its compiled form on first use
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
        state.gas -= cost
        # Verify the call's gas is covered (ϱ' = ϱ - g < 0 is out of gas, B.7)
        if state.gas < 0:
            return OUT_OF_GAS
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
    natives: Mapping[bytes, NativeService] | None = None,
) -> AccumulationOutcome:
    """Ψ_A(e, t, s, g, i) (eq. B.9), mutating and returning `state` (or a checkpoint
    copy of it) as the post-state. `slot` is both τ' and H_t.

    `natives` maps code hashes to native implementations (`jamcore.pvm.invocations.native`):
    a service whose code hash a_c is there (and whose code preimage is present, as B.9
    requires of any code) runs that Python code in place of Ψ_M, through the same host-call
    dispatcher F over the same context pair, with the same gas and collapse C. This is an
    implementation choice for services too heavy for the interpreter, with the graypaper's
    state semantics; by default every service runs its PVM code."""
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
    mutator = _Mutator(pair, slot, spec, fetch_data, taken, log_gas)
    native = natives.get(own.info.code_hash) if natives else None
    if native is not None:
        from jamcore.pvm.invocations.native import accumulate_native

        return accumulate_native(native, mutator, slot, service, gas, inputs)
    arguments = encode_natural(slot) + encode_natural(service) + encode_natural(len(inputs))
    try:
        initial = standard_program(code, arguments)
        program = _program(initial.code)
    except PvmBlobError:
        return _collapse(pair, 0, None)
    machine = MachineState(ACCUMULATE_ENTRY, gas, list(initial.registers), initial.memory)
    exit_ = invoke(program, machine, mutator, mode=mode)
    used = gas_used(gas, machine)
    if exit_.status is ExitStatus.HALT:
        start, length = machine.registers[7], machine.registers[8]
        result = b""
        if machine.memory.is_readable(start, length):
            result = machine.memory.read(start, length) if length else b""
        return _collapse(pair, used, result)
    return _collapse(pair, used, None)


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
