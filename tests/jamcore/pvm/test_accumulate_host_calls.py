"""The general and accumulate host functions (graypaper 0.7.2 Appendix B.6, B.8) on a
small hand-made context."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings

from jamcore.crypto.hashing import blake2b_256
from jamcore.pvm.assembler import assemble
from jamcore.pvm.blob import HALT_ADDRESS, ProgramCode
from jamcore.pvm.exits import PANIC, Exit, ExitStatus
from jamcore.pvm.host import MODES, Mode, invoke
from jamcore.pvm.host_calls import CASH, FULL, HUH, LOW, NONE, OK, WHO, general
from jamcore.pvm.host_calls import accumulate as acc
from jamcore.pvm.invocations.context import ContextPair, Implications
from jamcore.pvm.invocations.partial_state import PartialState, threshold_balance
from jamcore.pvm.machine import MachineState
from jamcore.pvm.memory import Memory
from jamcore.pvm.metering import run_unpaid
from jamcore.pvm.program import Program
from jamcore.spec import TINY
from jamcore.types.services import ServiceAccount, ServiceInfo
from tests.jamcore.pvm.pvm_strategies import assembly_programs, machine_states

RAM = 0x10000
SELF, OTHER = 7, 9


def info(balance: int, **changes: int) -> ServiceInfo:
    fields = dict(
        version=0, code_hash=bytes(32), balance=balance, min_item_gas=1, min_memo_gas=5,
        bytes=0, deposit_offset=0, items=0, creation_slot=0, last_accumulation_slot=0,
        parent_service=0,
    )
    fields.update(changes)
    return ServiceInfo(**fields)  # type: ignore[arg-type]


def context(balance: int = 10_000) -> ContextPair:
    accounts = {SELF: ServiceAccount(info(balance), {}), OTHER: ServiceAccount(info(50), {})}
    state = PartialState(accounts, {}, {}, None, None, 0, (0, 0), 0, 0, {})
    x = Implications(SELF, state, 2**16)
    return ContextPair(x, x.copy())


def machine(gas: int = 1000, **registers: int) -> MachineState:
    memory = Memory()
    memory.map(RAM, 4096, writable=True)
    regs = [0] * 13
    for name, value in registers.items():
        regs[int(name[1:])] = value
    return MachineState(0, gas, regs, memory)


def test_write_read_and_footprint() -> None:
    pair = context()
    m = machine(r7=RAM, r8=3, r9=RAM + 16, r10=5)
    m.memory.write(RAM, b"key")
    m.memory.write(RAM + 16, b"value")
    own = pair.x.own
    assert own is not None
    assert general.write(m, own) is None and m.registers[7] == NONE
    assert (own.info.items, own.info.bytes) == (1, 34 + 3 + 5)
    m.registers[7:13] = [NONE, RAM, 3, RAM + 100, 0, 64]
    assert general.read(m, own, SELF, pair.x.state) is None
    assert m.registers[7] == 5 and m.memory.read(RAM + 100, 5) == b"value"
    # removing it gives back the old length and the footprint
    m.registers[7:11] = [RAM, 3, 0, 0]
    assert general.write(m, own) is None and m.registers[7] == 5
    assert (own.info.items, own.info.bytes) == (0, 0)


def test_write_full_when_threshold_exceeds_balance() -> None:
    pair = context(balance=threshold_balance(0, 0, 0))
    m = machine(r7=RAM, r8=1, r9=RAM, r10=1)
    own = pair.x.own
    assert own is not None
    assert general.write(m, own) is None and m.registers[7] == FULL
    assert own.info.items == 0 and own.storage(b"\x00") is None


def test_unreadable_key_panics() -> None:
    pair = context()
    own = pair.x.own
    assert own is not None
    assert general.write(machine(r7=0x20000, r8=4, r9=RAM, r10=1), own) is PANIC


def test_solicit_query_forget_lifecycle() -> None:
    pair = context()
    h = bytes(range(32))
    m = machine(r7=RAM, r8=100)
    m.memory.write(RAM, h)
    assert acc.solicit(m, pair, 10) is None and m.registers[7] == OK
    own = pair.x.own
    assert own is not None and own.request(h, 100) == ()
    assert (own.info.items, own.info.bytes) == (2, 181)
    m.registers[7:9] = [RAM, 100]
    assert acc.solicit(m, pair, 10) is None and m.registers[7] == HUH
    m.registers[7:9] = [RAM, 100]
    acc.query(m, pair)
    assert m.registers[7:9] == [0, 0]
    m.registers[7:9] = [RAM, 100]
    assert acc.forget(m, pair, 11, 32) is None and m.registers[7] == OK
    assert own.request(h, 100) is None and own.info.items == 0
    m.registers[7:9] = [RAM, 100]
    acc.query(m, pair)
    assert m.registers[7:9] == [NONE, 0]


def test_transfer_charges_gas_limit_only_on_success() -> None:
    pair = context(balance=1000)
    m = machine(gas=100, r7=OTHER, r8=10, r9=20, r10=RAM)
    assert acc.transfer(m, pair, 10) is None and m.registers[7] == OK
    assert m.gas == 100 - 30 and len(pair.x.transfers) == 1
    own = pair.x.own
    assert own is not None and own.info.balance == 990
    m.registers[7:11] = [OTHER, 10, 1, RAM]
    assert acc.transfer(m, pair, 10) is None and m.registers[7] == LOW and m.gas == 60
    m.registers[7:11] = [123, 10, 20, RAM]
    assert acc.transfer(m, pair, 10) is None and m.registers[7] == WHO
    m.registers[7:11] = [OTHER, 10**6, 20, RAM]
    assert acc.transfer(m, pair, 10) is None and m.registers[7] == CASH
    m.registers[7:11] = [OTHER, 1, 10**6, RAM]
    assert acc.transfer(m, pair, 10).status is ExitStatus.OUT_OF_GAS  # type: ignore[union-attr]


def test_checkpoint_moves_the_exceptional_dimension() -> None:
    pair = context()
    m = machine(r7=RAM, r8=1, r9=RAM, r10=1)
    own = pair.x.own
    assert own is not None
    general.write(m, own)
    acc.checkpoint(m, pair)
    assert m.registers[7] == m.gas
    assert pair.y.state.view(SELF).info.items == 1  # type: ignore[union-attr]
    # later changes to x do not reach y
    m.registers[7:11] = [RAM, 2, RAM, 1]
    general.write(m, own)
    assert pair.y.state.view(SELF).info.items == 1  # type: ignore[union-attr]
    assert pair.x.state.view(SELF).info.items == 2  # type: ignore[union-attr]


def test_new_service_and_eject() -> None:
    pair = context(balance=100_000)
    code_hash = SELF.to_bytes(32, "little")
    m = machine(r7=RAM, r8=10, r9=1, r10=2, r11=0, r12=0)
    m.memory.write(RAM, code_hash)
    assert acc.new(m, pair, 5, pair.x.state.exists) is None
    created = m.registers[7]
    assert created == 2**16 and pair.x.next_free_id == 2**16 + 42
    child = pair.x.state.view(created)
    assert child is not None and child.info.parent_service == SELF
    assert child.info.balance == threshold_balance(2, 91, 0) == child.threshold
    assert pair.x.state.view(SELF).info.balance == 100_000 - child.threshold  # type: ignore[union-attr]
    # the request is not expired: eject refuses
    m.registers[7:9] = [created, RAM]
    assert acc.eject(m, pair, 6, 32) is None and m.registers[7] == HUH
    child.set_request(code_hash, 10, (1, 2))
    m.registers[7:9] = [created, RAM]
    assert acc.eject(m, pair, 100, 32) is None and m.registers[7] == OK
    assert not pair.x.state.exists(created)
    assert pair.x.state.view(SELF).info.balance == 100_000  # type: ignore[union-attr]


@pytest.mark.parametrize("requested", [True, False])
def test_provide(requested: bool) -> None:
    pair = context()
    blob = b"preimage"
    if requested:
        other = pair.x.state.account(OTHER)
        assert other is not None
        other.set_request(blake2b_256(blob), len(blob), ())
    m = machine(r7=OTHER, r8=RAM, r9=len(blob))
    m.memory.write(RAM, blob)
    assert acc.provide(m, pair) is None
    assert m.registers[7] == (OK if requested else HUH)
    assert pair.x.provisions == ({(OTHER, blob)} if requested else set())


def test_solicit_of_an_overlong_length_is_full() -> None:
    # A length of 2^32 or more asks for a new request whose threshold no balance covers
    pair = context()
    m = machine(r7=RAM, r8=2**64 - 5)
    assert acc.solicit(m, pair, 10) is None and m.registers[7] == FULL
    own = pair.x.own
    assert own is not None and own.info.items == 0


def test_fetched_constants_carry_the_specs_lookup_anchor_age() -> None:
    # L sits after E_8(B_I, B_L, B_S), E_2(C), E_4(D, E), E_8(G_A, G_I, G_R, G_T),
    # E_2(H, I, J, K): at octet 74
    for age in (24, 14_400):
        constants = general.protocol_constants(replace(TINY, max_lookup_anchor_age=age))
        assert len(constants) == 134
        assert constants[74:78] == age.to_bytes(4, "little")


# -- gas metered instruction by instruction (A.1): Ψ_H of jamcore.pvm.host ----------------------

HALT = "jump_ind r0, 0"


class Calls:
    """A host-call handler charging `cost` gas per call and recording (index, gas seen)."""

    def __init__(self, cost: int = 0, panic_on: int | None = None) -> None:
        self.cost = cost
        self.panic_on = panic_on
        self.seen: list[tuple[int, int]] = []

    def __call__(self, index: int, state: MachineState) -> Exit | None:
        self.seen.append((index, state.gas))
        if index == self.panic_on:
            return PANIC
        state.gas -= self.cost
        return None


def run_metered(source: str, gas: int, calls: Calls, mode: Mode) -> tuple[Exit, MachineState]:
    program = Program.from_blob(assemble(source))
    regs = [0] * 13
    regs[0] = HALT_ADDRESS
    state = MachineState(0, gas, regs, Memory())
    return invoke(program, state, calls, mode=mode), state


@pytest.mark.parametrize("mode", MODES)
def test_panic_inside_a_block_charges_only_what_ran(mode: Mode) -> None:
    # the load from address 0 panics: the add and the load are charged, the rest is not
    source = "add_imm_64 r1, r1, 1\nload_ind_u8 r2, r3, 0\n" + "add_imm_64 r1, r1, 1\n" * 3 + HALT
    exit_, state = run_metered(source, 100, Calls(), mode)
    assert exit_.status is ExitStatus.PANIC
    assert state.gas == 98


@pytest.mark.parametrize("mode", MODES)
def test_host_calls_see_the_gas_of_the_instructions_run(mode: Mode) -> None:
    source = "ecalli 0\n" + "add_imm_64 r1, r1, 1\n" * 3 + HALT
    calls = Calls(cost=10)
    exit_, state = run_metered(source, 100, calls, mode)
    assert exit_.status is ExitStatus.HALT
    assert calls.seen == [(0, 99)] and state.gas == 85
    # a host call that panics: nothing after the ecalli is charged
    calls = Calls(panic_on=0)
    exit_, state = run_metered(source, 100, calls, mode)
    assert exit_.status is ExitStatus.PANIC and state.gas == 99


@pytest.mark.parametrize("mode", MODES)
def test_a_block_the_gas_cannot_pay_for_runs_until_the_gas_is_out(mode: Mode) -> None:
    # 6 instructions, 5 gas: the ecalli still runs, then the gas is out before the trap
    source = "add_imm_64 r1, r1, 1\necalli 3\n" + "add_imm_64 r1, r1, 1\n" * 3 + "trap"
    calls = Calls()
    exit_, state = run_metered(source, 5, calls, mode)
    assert exit_.status is ExitStatus.OUT_OF_GAS
    assert calls.seen == [(3, 3)] and state.registers[1] == 4
    # ... or a fault comes first, with its gas
    source = "add_imm_64 r1, r1, 1\nload_ind_u8 r2, r3, 0\n" + "add_imm_64 r1, r1, 1\n" * 3 + HALT
    exit_, state = run_metered(source, 3, Calls(), mode)
    assert exit_.status is ExitStatus.PANIC and state.gas == 1


@pytest.mark.parametrize("mode", MODES)
def test_a_host_call_leaving_too_little_gas_for_its_block(mode: Mode) -> None:
    # after `ecalli 0` (gas 11 -> 10 -> 7 after the call) 7 instructions remain: the add,
    # `ecalli 1` (seeing 5), then 2 of 4 adds (gas 3 -> 1 -> ... out) and never the trap
    source = "ecalli 0\nadd_imm_64 r1, r1, 1\necalli 1\n" + "add_imm_64 r1, r1, 1\n" * 4 + "trap"
    calls = Calls(cost=3)
    exit_, state = run_metered(source, 11, calls, mode)
    assert exit_.status is ExitStatus.OUT_OF_GAS
    assert calls.seen == [(0, 10), (1, 5)] and state.registers[1] == 3


def _mixing_host(index: int, state: MachineState) -> Exit | None:
    """Mixes the call index into r7 and charges 3 gas; index 4 mod 8 panics."""
    if index % 8 == 4:
        return PANIC
    state.registers[7] = (state.registers[7] * 31 + index) % 2**64
    state.gas -= 3
    return None


def _per_instruction_invoke(program: Program, state: MachineState) -> Exit:
    """Ψ_H (A.33) straight from A.1: every instruction run one at a time, paying 1."""
    while True:
        exit_ = run_unpaid(program, state)
        if exit_.status is not ExitStatus.HOST_CALL:
            return exit_
        outcome = _mixing_host(exit_.value, state)
        if outcome is not None:
            return outcome
        if state.gas < 0:
            return Exit(ExitStatus.OUT_OF_GAS)
        state.pc = program.instruction(state.pc).next_pc


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=assembly_programs(), state=machine_states())
def test_invoke_meters_exactly_as_one_instruction_at_a_time(
    text: str, state: MachineState
) -> None:
    code = Program.from_blob(assemble(text))
    expected = MachineState(state.pc, state.gas, list(state.registers), state.memory.copy())
    reference = _per_instruction_invoke(Program(ProgramCode(*_parts(code))), expected)
    for mode in MODES:
        machine = MachineState(state.pc, state.gas, list(state.registers), state.memory.copy())
        exit_ = invoke(Program(ProgramCode(*_parts(code))), machine, _mixing_host, mode=mode)
        assert (exit_, machine.pc, machine.gas, machine.registers, machine.memory) == (
            reference, expected.pc, expected.gas, expected.registers, expected.memory
        ), mode


def _parts(program: Program) -> tuple[bytes, tuple[bool, ...], tuple[int, ...]]:
    return program.code, program.bitmask, program.jump_table
