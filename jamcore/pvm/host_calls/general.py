"""The general host functions (graypaper 0.7.2 Appendix B.6) and JIP-1's `log`.

Each function takes the machine state after the dispatcher charged its gas, mutates
registers and RAM (and, for `write`, the service account), and returns None to continue
or `PANIC` to end the run, as `jamcore.pvm.host.HostCall` expects. Memory ranges are
checked before anything changes, so an inaccessible range panics as the graypaper says
instead of surfacing as a page fault.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

from jamcore.pvm.exits import PANIC, Exit, MemoryFault, MemoryPanic
from jamcore.pvm.host_calls import FULL, NONE
from jamcore.pvm.invocations.partial_state import (
    BASE_DEPOSIT,
    BYTE_DEPOSIT,
    ITEM_DEPOSIT,
    AccountView,
    PartialState,
    threshold_balance,
)
from jamcore.pvm.machine import MachineState
from jamcore.pvm.memory import Memory
from jamcore.spec import ChainSpec

# -- constants reported by fetch (Appendix I.4.4; those not in ChainSpec) -------------------

REPORT_ACC_GAS = 10_000_000
"""G_A: gas to accumulate one work-report (Appendix I.4.4)."""
PACKAGE_AUTH_GAS = 50_000_000
"""G_I: gas of the Is-Authorized invocation (Appendix I.4.4)."""
RECENT_HISTORY = 8
"""H: recent-history size in blocks (Appendix I.4.4)."""
MAX_PACKAGE_ITEMS = 16
"""I: most work-items in a package (Appendix I.4.4)."""
MAX_REPORT_DEPS = 8
"""J: most dependency items of a report (Appendix I.4.4)."""
AUTH_POOL_SIZE = 8
"""O: authorizations pool size (Appendix I.4.4)."""
AUTH_QUEUE_SIZE = 80
"""Q: authorizations queue size (Appendix I.4.4)."""
MAX_PACKAGE_EXTRINSICS = 128
"""T: most extrinsics in a package (Appendix I.4.4)."""
ASSURANCE_TIMEOUT = 5
"""U: slots before unavailable reported work may be replaced (Appendix I.4.4)."""
MAX_AUTH_CODE = 64_000
"""W_A: largest is-authorized code (Appendix I.4.4)."""
MAX_BUNDLE = 13_791_360
"""W_B: largest work-package bundle (Appendix I.4.4)."""
MAX_SERVICE_CODE = 4_000_000
"""W_C: largest service code (Appendix I.4.4)."""
SEGMENT_SIZE = 4104
"""W_G = W_P W_E: octets in a segment (Appendix I.4.4)."""
MAX_PACKAGE_IMPORTS = 3072
"""W_M: most imports of a package (Appendix I.4.4)."""
MAX_REPORT_BLOBS = 48 * 2**10
"""W_R: most octets of a report's unbounded blobs (Appendix I.4.4)."""
MEMO_SIZE = 128
"""W_T: octets of a transfer memo (Appendix I.4.4)."""
MAX_PACKAGE_EXPORTS = 3072
"""W_X: most exports of a package (Appendix I.4.4)."""


@cache
def protocol_constants(spec: ChainSpec) -> bytes:
    """c of Ω_Y (fetch, ω_10 = 0): the encoded protocol constants (Appendix B.6).

    L is the spec's: the conformance fuzzer's tiny spec scales it with D to 24 (14 400 in
    full), and services read it here."""
    u2 = lambda x: x.to_bytes(2, "little")  # noqa: E731
    u4 = lambda x: x.to_bytes(4, "little")  # noqa: E731
    u8 = lambda x: x.to_bytes(8, "little")  # noqa: E731
    return b"".join(
        [
            u8(ITEM_DEPOSIT), u8(BYTE_DEPOSIT), u8(BASE_DEPOSIT), u2(spec.cores_count),
            u4(spec.preimage_expunge_period), u4(spec.epoch_length), u8(REPORT_ACC_GAS),
            u8(PACKAGE_AUTH_GAS), u8(spec.max_refine_gas), u8(spec.max_block_gas),
            u2(RECENT_HISTORY), u2(MAX_PACKAGE_ITEMS), u2(MAX_REPORT_DEPS),
            u2(spec.max_tickets_per_extrinsic), u4(spec.max_lookup_anchor_age),
            u2(spec.tickets_per_validator), u2(AUTH_POOL_SIZE), u2(spec.slot_duration),
            u2(AUTH_QUEUE_SIZE), u2(spec.rotation_period), u2(MAX_PACKAGE_EXTRINSICS),
            u2(ASSURANCE_TIMEOUT), u2(spec.validators_count), u4(MAX_AUTH_CODE),
            u4(MAX_BUNDLE), u4(MAX_SERVICE_CODE), u4(SEGMENT_SIZE // spec.ec_pieces_per_segment),
            u4(MAX_PACKAGE_IMPORTS), u4(spec.ec_pieces_per_segment), u4(MAX_REPORT_BLOBS),
            u4(MEMO_SIZE), u4(MAX_PACKAGE_EXPORTS), u4(spec.contest_duration),
        ]
    )


# -- memory helpers ---------------------------------------------------------------------------


def read_memory(memory: Memory, start: int, length: int) -> bytes | None:
    """µ[start..+length] when N_{start..+length} ⊆ V_µ, else None."""
    if length == 0:
        return b""
    if not memory.is_readable(start, length):
        return None
    return memory.read(start, length)


def output(
    state: MachineState, value: bytes | None, out: int, offset: int, length: int
) -> Exit | None:
    """The common tail of fetch, lookup, read and info: f = min(offset, |v|),
    l = min(length, |v| - f); panic unless µ[out..+l] is writable, else ω_7 = NONE for a
    missing v, or ω_7 = |v| and µ'[out..+l] = v[f..+l]."""
    if value is None:
        state.registers[7] = NONE
        return None
    f = min(offset, len(value))
    n = min(length, len(value) - f)
    if n:
        # Verify the output range is writable (the write is all or nothing)
        if out + n > 1 << 32:
            return PANIC
        try:
            state.memory.write(out, value[f : f + n])
        except (MemoryFault, MemoryPanic):
            return PANIC
    state.registers[7] = len(value)
    return None


# -- the general functions -------------------------------------------------------------------


def gas(state: MachineState) -> Exit | None:
    """Ω_G (`gas` = 0): ω'_7 = ϱ'."""
    state.registers[7] = max(state.gas, 0)
    return None


@dataclass(frozen=True)
class FetchData:
    """What Ω_Y can fetch in one invocation (None where the invocation gives nothing):
    the constants blob, entropy n, authorizer trace r, the encodings of the work-package
    and its parts, the per-item extrinsics x̄ and imports ī, the item index i, and the
    encoded accumulation inputs i."""

    constants: bytes
    entropy: bytes | None = None
    authorizer_trace: bytes | None = None
    item_index: int | None = None
    imports: Sequence[Sequence[bytes]] | None = None
    extrinsics: Sequence[Sequence[bytes]] | None = None
    package: bytes | None = None
    auth_config: bytes | None = None
    auth_token: bytes | None = None
    context: bytes | None = None
    item_summaries: Sequence[bytes] = field(default_factory=tuple)
    item_payloads: Sequence[bytes] = field(default_factory=tuple)
    inputs: Sequence[bytes] | None = None


def _fetch_value(data: FetchData, kind: int, a: int, b: int) -> bytes | None:
    """v of Ω_Y for ω_10 = kind, ω_11 = a, ω_12 = b."""
    if kind == 0:
        return data.constants
    if kind == 1:
        return data.entropy
    if kind == 2:
        return data.authorizer_trace
    if kind in (3, 5):
        lists = data.extrinsics if kind == 3 else data.imports
        if lists is not None and a < len(lists) and b < len(lists[a]):
            return lists[a][b]
        return None
    if kind in (4, 6):
        lists = data.extrinsics if kind == 4 else data.imports
        i = data.item_index
        if lists is not None and i is not None and a < len(lists[i]):
            return lists[i][a]
        return None
    if data.package is not None:
        if kind == 7:
            return data.package
        if kind == 8:
            return data.auth_config
        if kind == 9:
            return data.auth_token
        if kind == 10:
            return data.context
        if kind == 11:
            from jamcore.codec import encode_natural

            summaries = data.item_summaries
            return encode_natural(len(summaries)) + b"".join(summaries)
        if kind == 12 and a < len(data.item_summaries):
            return data.item_summaries[a]
        if kind == 13 and a < len(data.item_payloads):
            return data.item_payloads[a]
    if data.inputs is not None:
        if kind == 14:
            from jamcore.codec import encode_natural

            return encode_natural(len(data.inputs)) + b"".join(data.inputs)
        if kind == 15 and a < len(data.inputs):
            return data.inputs[a]
    return None


def fetch(state: MachineState, data: FetchData) -> Exit | None:
    """Ω_Y (`fetch` = 1): the item selected by ω_10 (ω_11, ω_12) into µ[ω_7..]."""
    regs = state.registers
    value = _fetch_value(data, regs[10], regs[11], regs[12])
    return output(state, value, regs[7], regs[8], regs[9])


def lookup(
    state: MachineState, own: AccountView | None, service: int, accounts: PartialState
) -> Exit | None:
    """Ω_L (`lookup` = 2): the preimage with hash µ[ω_8..+32] of service ω_7 (self for s
    or 2^64 - 1) into µ[ω_9..]."""
    regs = state.registers
    if regs[7] in (service, NONE):
        account = own
    else:
        account = accounts.view(regs[7])
    h = read_memory(state.memory, regs[8], 32)
    # Verify the hash is readable
    if h is None:
        return PANIC
    value = None if account is None else account.preimage(h)
    return output(state, value, regs[9], regs[10], regs[11])


def read(
    state: MachineState, own: AccountView | None, service: int, accounts: PartialState
) -> Exit | None:
    """Ω_R (`read` = 3): storage item µ[ω_8..+ω_9] of service ω_7 (self for 2^64 - 1)
    into µ[ω_10..]."""
    regs = state.registers
    target = service if regs[7] == NONE else regs[7]
    account = own if target == service else accounts.view(target)
    key = read_memory(state.memory, regs[8], regs[9])
    # Verify the key is readable
    if key is None:
        return PANIC
    value = None if account is None else account.storage(key)
    return output(state, value, regs[10], regs[11], regs[12])


def write(state: MachineState, account: AccountView) -> Exit | None:
    """Ω_W (`write` = 4): a_s[µ[ω_7..+ω_8]] = µ[ω_9..+ω_10] (removed when ω_10 = 0);
    ω_7 = the previous value's length or NONE, FULL if the threshold exceeds the balance."""
    regs = state.registers
    key = read_memory(state.memory, regs[7], regs[8])
    # Verify the key is readable
    if key is None:
        return PANIC
    value: bytes | None = None
    if regs[10] != 0:
        value = read_memory(state.memory, regs[9], regs[10])
        # Verify the value is readable
        if value is None:
            return PANIC
    old = account.storage(key)
    items, octets = account.info.items, account.info.bytes
    if old is not None:
        items, octets = items - 1, octets - 34 - len(key) - len(old)
    if value is not None:
        items, octets = items + 1, octets + 34 + len(key) + len(value)
    # Verify the new footprint's threshold stays within the balance
    if threshold_balance(items, octets, account.info.deposit_offset) > account.info.balance:
        regs[7] = FULL
        return None
    if old is not None or value is not None:
        account.set_storage(key, value)
    regs[7] = NONE if old is None else len(old)
    return None


def encode_info(account: AccountView) -> bytes:
    """v of Ω_I: E(a_c, E_8(a_b, a_t, a_g, a_m, a_o), E_4(a_i), E_8(a_f), E_4(a_r, a_a,
    a_p))."""
    info = account.info
    return b"".join(
        [
            info.code_hash,
            info.balance.to_bytes(8, "little"),
            account.threshold.to_bytes(8, "little"),
            info.min_item_gas.to_bytes(8, "little"),
            info.min_memo_gas.to_bytes(8, "little"),
            info.bytes.to_bytes(8, "little"),
            info.items.to_bytes(4, "little"),
            info.deposit_offset.to_bytes(8, "little"),
            info.creation_slot.to_bytes(4, "little"),
            info.last_accumulation_slot.to_bytes(4, "little"),
            info.parent_service.to_bytes(4, "little"),
        ]
    )


def info(state: MachineState, service: int, accounts: PartialState) -> Exit | None:
    """Ω_I (`info` = 5): the record of service ω_7 (s for 2^64 - 1) into µ[ω_8..]."""
    regs = state.registers
    account = accounts.view(service if regs[7] == NONE else regs[7])
    value = None if account is None else encode_info(account)
    return output(state, value, regs[8], regs[9], regs[10])


def log(state: MachineState) -> Exit | None:
    """JIP-1 `log` (100): a debug message (level ω_7, target µ[ω_8..+ω_9], message
    µ[ω_10..+ω_11]); it changes nothing."""
    return None
