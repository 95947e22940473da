"""Native services (jamcore.pvm.invocations.native): Python accumulate/refine code run
through the real host calls, against an equivalent PVM service on the same state and by
graypaper values computed by hand (eq. 9.8 footprints, B.8 host calls, B.12 collapse)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import pytest

from jamcore.codec import Variant, encode_natural
from jamcore.conformance.trace import read_trace_step, trace_files
from jamcore.crypto.hashing import blake2b_256
from jamcore.pvm import host_calls as hc
from jamcore.pvm.host_calls.general import protocol_constants
from jamcore.pvm.invocations.accumulate import AccumulationOutcome, accumulate
from jamcore.pvm.invocations.context import AccumulationInput, DeferredTransfer, OperandTuple
from jamcore.pvm.invocations.native import (
    AccumulateHost,
    CashError,
    CoreError,
    FullError,
    HuhError,
    LowError,
    NativePanic,
    WhoError,
)
from jamcore.pvm.invocations.partial_state import PartialState, threshold_balance
from jamcore.spec import TINY
from jamcore.state.keys import preimage_key
from jamcore.state.state import state_from_keyvals
from jamcore.stf import block as block_module
from jamcore.stf.accumulate import AccumulateInput, AccumulateState, accumulate_block
from jamcore.types.accumulation import Privileges
from jamcore.types.services import ServiceAccount, ServiceInfo
from tests.jamcore.pvm.test_invocations import code_preimage, standard
from tests.jamcore.stf.test_block import TRACES

SELF, OTHER, SLOT = 7, 9, 5
RO, RW = 0x10000, 0x30000
"""Where standard initialisation puts the read-only data and the heap (A.41)."""
HASH = bytes(range(32))
MEMO = b"memo".ljust(128, b".")
AMOUNT, LIMIT, CREDIT = 25, 7, 100
RO_DATA = b"count".ljust(8, b"\0") + b"res".ljust(8, b"\0") + b"big".ljust(16, b"\0") + HASH + MEMO


def ecall(index: int, *args: int) -> str:
    """Assembly setting ω_7, ω_8, ... to `args`, then `ecalli index`."""
    loads = "".join(f"    load_imm r{7 + i}, {a}\n" for i, a in enumerate(args))
    return f"{loads}    ecalli {index}\n"


# The counter service in PVM code. pc 0 (refine) jumps away; accumulate starts at pc 5 with
# the arguments E(t, s, |i|), one octet each here (all below 128): count += |i|, try to store
# 1000 zero octets under "big" and keep the write's ω_7 under "res", checkpoint, transfer
# AMOUNT to OTHER, yield HASH, then TAIL.
BODY = (
    "    load_ind_u8 r2, r7, 2\n"  # |i|
    + ecall(hc.READ, -1, RO, 5, RW, 0, 8)
    + f"    load_u64 r3, {RW}\n    add_64 r3, r3, r2\n    store_u64 r3, {RW}\n"
    + ecall(hc.WRITE, RO, 5, RW, 8)
    + ecall(hc.WRITE, RO + 16, 3, RW + 64, 1000)
    + f"    store_u64 r7, {RW + 8}\n"
    + ecall(hc.WRITE, RO + 8, 3, RW + 8, 8)
    + ecall(hc.CHECKPOINT)
    + ecall(hc.TRANSFER, OTHER, AMOUNT, LIMIT, RO + 64)
    + ecall(hc.YIELD, RO + 32)
    + "    load_imm r7, 0\n    load_imm r8, 0\n"  # halt with an empty output
)
TAILS = {"halt": "jump_ind r0, 0", "panic": "trap", "loop": "fallthrough\nspin:\n    jump spin"}
BODY_INSTRUCTIONS = len(BODY.strip().splitlines())
NATIVE_GAS = 7 * hc.HOST_CALL_GAS + LIMIT
"""read, 3 writes, checkpoint, yield at 10 each; transfer at 10 + its gas limit."""


def counter_preimage(tail: str) -> bytes:
    source = f"    jump refine\n{BODY}    {TAILS[tail]}\nrefine:\n    trap\n"
    return code_preimage(standard(source, ro=RO_DATA, rw=bytes(2048)))


class Counter:
    """The same counter in Python."""

    def __init__(self, tail: str = "halt") -> None:
        self.tail = tail

    def accumulate(
        self, host: AccumulateHost, slot: int, service: int, inputs: Sequence[AccumulationInput]
    ) -> None:
        old = (host.read(b"count") or b"")[:8].ljust(8, b"\0")
        count = (int.from_bytes(old, "little") + len(inputs)) % 2**64
        host.write(b"count", count.to_bytes(8, "little"))
        try:
            previous = host.write(b"big", bytes(1000))
            result = hc.NONE if previous is None else previous
        except FullError as error:
            result = error.result
        host.write(b"res", result.to_bytes(8, "little"))
        host.checkpoint()
        host.transfer(OTHER, AMOUNT, LIMIT, MEMO)
        host.yield_(HASH)
        if self.tail == "panic":
            raise RuntimeError("the native code failed")
        while self.tail == "loop":
            host.charge(1000)


def info(balance: int, code_hash: bytes = bytes(32), **changes: int) -> ServiceInfo:
    fields = dict(
        version=0, code_hash=code_hash, balance=balance, min_item_gas=1, min_memo_gas=5,
        bytes=0, deposit_offset=0, items=0, creation_slot=0, last_accumulation_slot=0,
        parent_service=0,
    )
    fields.update(changes)
    return ServiceInfo(**fields)  # type: ignore[arg-type]


def accounts(preimage: bytes, balance: int) -> dict[int, ServiceAccount]:
    h = blake2b_256(preimage)
    return {
        SELF: ServiceAccount(info(balance, h), {preimage_key(SELF, h): preimage}),
        OTHER: ServiceAccount(info(50), {}),
    }


def partial(base: dict[int, ServiceAccount]) -> PartialState:
    return PartialState(base, {}, {}, None, None, 0, (0,) * TINY.cores_count, 0, 0, {})


INPUTS: tuple[AccumulationInput, ...] = (
    OperandTuple(bytes(32), bytes(32), bytes(32), bytes(32), 100, b"", Variant("ok", b"a")),
    OperandTuple(bytes(32), bytes(32), bytes(32), bytes(32), 100, b"", Variant("ok", b"b")),
    DeferredTransfer(OTHER, SELF, CREDIT, bytes(128), 10),
)


def run(
    preimage: bytes,
    native: object | None,
    *,
    balance: int = 10_000,
    gas: int = 100_000,
    inputs: Sequence[AccumulationInput] = INPUTS,
    base: dict[int, ServiceAccount] | None = None,
) -> AccumulationOutcome:
    """Ψ_A of SELF on fresh accounts, natively if `native` is given."""
    natives = {blake2b_256(preimage): native} if native is not None else None
    state = partial(base if base is not None else accounts(preimage, balance))
    return accumulate(
        state, SLOT, SELF, gas, inputs, entropy=bytes(32), spec=TINY, natives=natives  # type: ignore[arg-type]
    )


def same_effects(a: AccumulationOutcome, b: AccumulationOutcome) -> None:
    assert a.state.accounts() == b.state.accounts()
    assert (a.transfers, a.yielded, a.provisions) == (b.transfers, b.yielded, b.provisions)


# -- native and PVM counter: the same post-state ----------------------------------------------


def test_native_and_pvm_counter_reach_the_same_state() -> None:
    preimage = counter_preimage("halt")
    pvm, native = run(preimage, None), run(preimage, Counter())
    same_effects(pvm, native)
    own = native.state.view(SELF)
    assert own is not None
    # by hand: three items of 34 + |k| + |v| octets (eq. 9.8), the credit, less the transfer
    assert own.storage(b"count") == (3).to_bytes(8, "little")
    assert own.storage(b"big") == bytes(1000)
    assert own.storage(b"res") == hc.NONE.to_bytes(8, "little")
    assert (own.info.items, own.info.bytes) == (3, (34 + 5 + 8) + (34 + 3 + 1000) + (34 + 3 + 8))
    assert own.info.balance == 10_000 + CREDIT - AMOUNT
    assert native.transfers == (DeferredTransfer(SELF, OTHER, AMOUNT, MEMO, LIMIT),)
    assert native.yielded == HASH
    # gas: 10 per host call and the transfer's limit; the PVM adds 1 per instruction (A.1)
    assert native.gas_used == NATIVE_GAS
    assert pvm.gas_used == NATIVE_GAS + BODY_INSTRUCTIONS + 1


def test_a_second_run_reads_the_stored_count() -> None:
    preimage = counter_preimage("halt")
    base = run(preimage, Counter()).state.accounts()
    pvm, native = run(preimage, None, base=base), run(preimage, Counter(), base=base)
    same_effects(pvm, native)
    own = native.state.view(SELF)
    assert own is not None and own.storage(b"count") == (6).to_bytes(8, "little")
    # "big" is overwritten with the same length: the write answers its old length
    assert own.storage(b"res") == (1000).to_bytes(8, "little")


def test_write_beyond_the_balance_is_full_and_changes_nothing() -> None:
    preimage = counter_preimage("halt")
    # 100 + 10 + 47 + 10 + 45 = a_t with count and res: covered, with big too it is not
    balance = threshold_balance(2, 47 + 45, 0) + 50 - CREDIT
    pvm, native = run(preimage, None, balance=balance), run(preimage, Counter(), balance=balance)
    same_effects(pvm, native)
    own = native.state.view(SELF)
    assert own is not None
    assert own.storage(b"big") is None
    assert own.storage(b"res") == hc.FULL.to_bytes(8, "little")
    assert (own.info.items, own.info.bytes) == (2, 47 + 45)
    assert own.info.balance == balance + CREDIT - AMOUNT


@pytest.mark.parametrize("tail", ["panic", "loop"])
def test_panic_and_out_of_gas_roll_back_to_the_checkpoint(tail: str) -> None:
    preimage = counter_preimage(tail)
    pvm, native = run(preimage, None, gas=50_000), run(preimage, Counter(tail), gas=50_000)
    same_effects(pvm, native)
    own = native.state.view(SELF)
    assert own is not None
    # y = x at the checkpoint: the storage kept, the transfer and the yield dropped
    assert own.storage(b"count") == (3).to_bytes(8, "little") and own.info.items == 3
    assert own.info.balance == 10_000 + CREDIT
    assert native.transfers == () and native.yielded is None
    if tail == "loop":
        assert native.gas_used == pvm.gas_used == 50_000
    else:
        assert native.gas_used == NATIVE_GAS


def test_out_of_gas_before_the_checkpoint_keeps_only_the_credit() -> None:
    preimage = counter_preimage("halt")
    # the native runs out in its third call (10 + 10 + 10 > 25)
    pvm, native = run(preimage, None, gas=25), run(preimage, Counter(), gas=25)
    same_effects(pvm, native)
    expected = accounts(preimage, 10_000)
    self_account = expected[SELF]
    assert self_account.info is not None
    expected[SELF] = replace(self_account, info=replace(self_account.info, balance=10_100))
    assert native.state.accounts() == expected
    assert native.gas_used == 25 and native.transfers == () and native.yielded is None


def test_an_invocation_ended_stays_ended_even_if_the_native_catches_it() -> None:
    class Stubborn:
        def accumulate(self, host: AccumulateHost, *args: object) -> None:
            host.write(b"k", b"v")
            try:
                host.charge(10**9)
            except BaseException:  # noqa: B036 - what a misbehaving native might do
                pass
            with pytest.raises(NativePanic):
                host.write(b"k2", b"v")

    outcome = run(counter_preimage("halt"), Stubborn(), gas=1000)
    own = outcome.state.view(SELF)
    assert own is not None and own.storage(b"k") is None and outcome.gas_used == 1000


# -- the other host calls, by hand --------------------------------------------------------------


class Script:
    """A native whose accumulate is `body(host)`; its return value is kept."""

    def __init__(self, body: Callable[[AccumulateHost], object]) -> None:
        self.body = body
        self.result: object = None

    def accumulate(self, host: AccumulateHost, *args: object) -> None:
        self.result = self.body(host)


def script(
    body: Callable[[AccumulateHost], object], **kwargs: object
) -> tuple[object, AccumulationOutcome]:
    native = Script(body)
    outcome = run(counter_preimage("halt"), native, **kwargs)  # type: ignore[arg-type]
    return native.result, outcome


def test_transfer_errors_are_typed_and_cost_ten_gas() -> None:
    def body(host: AccumulateHost) -> list[str]:
        seen = []
        for dest, amount, limit, error in (
            (123, 1, 10, WhoError), (OTHER, 1, 1, LowError), (OTHER, 10**9, 10, CashError)
        ):
            with pytest.raises(error) as caught:
                host.transfer(dest, amount, limit)
            seen.append(caught.value.code)
        return seen

    seen, outcome = script(body)
    assert seen == ["who", "low", "cash"]
    assert outcome.gas_used == 30 and outcome.transfers == ()


def test_fetch_info_lookup_gas_and_log() -> None:
    preimage = counter_preimage("halt")

    def body(host: AccumulateHost) -> tuple[object, ...]:
        return (
            host.fetch(0), host.fetch(1), host.fetch(14), host.fetch(15, 2), host.fetch(15, 3),
            host.info(), host.info(OTHER), host.info(123), host.lookup(blake2b_256(preimage)),
            host.lookup(HASH), host.log("hello"), host.gas(),
        )

    result, outcome = script(body, gas=1000)
    constants, entropy, inputs, third, missing, own, other, unknown, code, absent, _, gas = result  # type: ignore[misc]
    assert constants == protocol_constants(TINY) and entropy == bytes(32)
    assert inputs == encode_natural(3) + b"".join(i.encode() for i in INPUTS)
    assert third == INPUTS[2].encode() and missing is None
    assert own.balance == 10_000 + CREDIT and own.threshold == 100 and own.items == 0
    assert own.code_hash == blake2b_256(preimage)
    assert other.balance == 50 and other.min_memo_gas == 5 and unknown is None
    assert code == preimage and absent is None
    assert gas == 1000 - 12 * 10 and outcome.gas_used == 120


def test_solicit_query_provide_forget() -> None:
    blob = b"a preimage"
    h = blake2b_256(blob)

    def body(host: AccumulateHost) -> tuple[object, ...]:
        before = host.query(h, len(blob))
        host.solicit(h, len(blob))
        with pytest.raises(HuhError):
            host.solicit(h, len(blob))
        asked = host.query(h, len(blob))
        host.provide(blob)
        with pytest.raises(HuhError):
            host.provide(blob)
        record = host.info()
        host.forget(h, len(blob))
        return before, asked, record, host.query(h, len(blob))

    (before, asked, record, after), outcome = script(body)
    assert before is None and asked == () and after is None
    assert (record.items, record.bytes) == (2, 81 + len(blob))  # type: ignore[attr-defined]
    assert outcome.provisions == frozenset({(SELF, blob)})
    own = outcome.state.view(SELF)
    assert own is not None and own.info.items == 0


def test_new_service_is_funded_by_the_creator() -> None:
    code_hash = blake2b_256(b"child code")

    def body(host: AccumulateHost) -> int:
        return host.new(code_hash, 10, 1, 2)

    created, outcome = script(body)
    child = outcome.state.view(created)  # type: ignore[arg-type]
    assert child is not None and created >= 2**16  # type: ignore[operator]
    assert child.info.balance == threshold_balance(2, 81 + 10, 0)
    assert child.request(code_hash, 10) == () and child.info.parent_service == SELF
    own = outcome.state.view(SELF)
    assert own is not None and own.info.balance == 10_000 + CREDIT - child.info.balance


def test_privileged_calls_refuse_an_unprivileged_service() -> None:
    def body(host: AccumulateHost) -> None:
        with pytest.raises(CoreError):
            host.assign(TINY.cores_count, [bytes(32)] * 80, SELF)
        with pytest.raises(HuhError):
            host.assign(0, [bytes(32)] * 80, SELF)
        with pytest.raises(HuhError):
            host.designate([bytes(336)] * TINY.validators_count)

    _, outcome = script(body)
    assert outcome.state.assigners == (0,) * TINY.cores_count and outcome.gas_used == 30


def test_large_values_round_trip_through_the_scratch_memory() -> None:
    value = bytes(range(256)) * 400  # 100 KiB: spans lazily mapped pages

    def body(host: AccumulateHost) -> bytes | None:
        host.write(b"large", value)
        return host.read(b"large")

    read, outcome = script(body, balance=10**6)
    assert read == value and outcome.state.view(SELF).storage(b"large") == value  # type: ignore[union-attr]


def test_accumulate_block_threads_natives() -> None:
    preimage = counter_preimage("halt")
    pre = AccumulateState(
        slot=0,
        entropy=bytes(32),
        ready_queue=((),) * TINY.epoch_length,
        accumulated=((),) * TINY.epoch_length,
        privileges=Privileges(0, (0,) * TINY.cores_count, 0, 0, {SELF: 100_000}),
        statistics={},
        accounts=accounts(preimage, 10_000),
    )
    block = AccumulateInput(slot=1, reports=())
    pvm, pvm_summary = accumulate_block(pre, block, TINY)
    natives = {blake2b_256(preimage): Counter()}
    native, native_summary = accumulate_block(pre, block, TINY, natives=natives)  # type: ignore[dict-item]
    assert native.accounts == pvm.accounts
    assert native_summary.outputs == pvm_summary.outputs == ((SELF, HASH),)
    assert native_summary.statistics[SELF] == (NATIVE_GAS, 0)
    other = native.accounts[OTHER].info
    assert other is not None and other.balance == 50 + AMOUNT  # the deferred transfer landed


def test_an_uncaught_host_call_error_panics() -> None:
    def body(host: AccumulateHost) -> None:
        host.write(b"small", b"v")
        host.write(b"huge", bytes(10**5))  # FullError escapes: a panic, back to y

    _, outcome = script(body)
    own = outcome.state.view(SELF)
    assert own is not None and own.storage(b"small") is None and own.info.items == 0
    assert own.info.balance == 10_000 + CREDIT and outcome.gas_used == 20


def test_a_native_needs_its_code_preimage_like_any_code() -> None:
    preimage = counter_preimage("halt")
    base = accounts(preimage, 10_000)
    base[SELF] = replace(base[SELF], entries={})  # a_c is gone: Ψ_A runs nothing (eq. B.9)
    outcome = run(preimage, Counter(), base=base)
    assert outcome.gas_used == 0 and outcome.state.view(SELF).storage(b"count") is None  # type: ignore[union-attr]


def test_import_block_threads_natives(monkeypatch: pytest.MonkeyPatch) -> None:
    if not (TRACES / "storage").is_dir():
        pytest.skip(f"no storage trace under {TRACES}")
    step = read_trace_step(trace_files(TRACES / "storage")[1][0].read_bytes(), TINY)
    natives = {HASH: Counter()}  # no service of the trace has this code hash
    seen: list[object] = []
    real = block_module.accumulate_block

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(kwargs.get("natives"))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(block_module, "accumulate_block", spy)
    state = state_from_keyvals(step.pre.keyvals, TINY)
    posterior = block_module.import_block(state, step.block, TINY, natives=natives)  # type: ignore[arg-type]
    assert seen == [natives]
    assert block_module.root_of(posterior, TINY) == step.post.root
