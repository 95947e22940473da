"""The accumulate host functions (graypaper 0.7.2 Appendix B.8).

Each acts on the context pair (x, y) after the dispatcher charged its 10 gas (except
`transfer`, which charges its own 10 + l), mutates registers, RAM and context in place,
and returns None to continue, or `PANIC` / `OUT_OF_GAS` to end the run. Memory is read
before anything changes, so an unreadable range panics with the context untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from jamcore.crypto.hashing import blake2b_256
from jamcore.pvm.exits import OUT_OF_GAS, PANIC, Exit
from jamcore.pvm.host_calls import CASH, CORE, FULL, HUH, LOW, NONE, OK, WHO
from jamcore.pvm.host_calls.general import MEMO_SIZE, read_memory
from jamcore.pvm.invocations.context import ContextPair, DeferredTransfer
from jamcore.pvm.invocations.partial_state import AccountView, threshold_balance
from jamcore.pvm.machine import MachineState
from jamcore.types.services import ServiceInfo
from jamcore.types.validators import VALIDATOR_KEY

MIN_PUBLIC_INDEX = 2**16
"""S: the least service index not reserved for the registrar (Appendix I.4.4)."""
VALIDATOR_KEY_SIZE = 336
"""Octets of one validator key (eq. 6.8)."""
_ID_SPACE = 2**32 - MIN_PUBLIC_INDEX - 2**8
_U32 = 2**32


def next_service_id(candidate: int, taken: Callable[[int], bool]) -> int:
    """check(i) (eq. B.13): the first index from i in the sequence
    i -> (i - S + 1) mod (2^32 - 2^8 - S) + S that is not a service."""
    while taken(candidate):
        candidate = (candidate - MIN_PUBLIC_INDEX + 1) % _ID_SPACE + MIN_PUBLIC_INDEX
    return candidate


def bless(state: MachineState, pair: ContextPair, cores_count: int) -> Exit | None:
    """Ω_B (`bless` = 14): set the manager ω_7, the assigners E_4 at ω_8 (C of them), the
    delegator ω_9, the registrar ω_10 and the always-accumulate map of ω_12 entries
    E_4(s) ++ E_8(g) at ω_11."""
    regs = state.registers
    manager, at, delegator, registrar, o, n = regs[7:13]
    raw = read_memory(state.memory, at, 4 * cores_count)
    entries = read_memory(state.memory, o, 12 * n) if 12 * n < _U32 else None
    # Verify the assigners and the always-accumulate map are readable
    if raw is None or entries is None:
        return PANIC
    # Verify the manager, delegator and registrar are service ids
    if manager >= _U32 or delegator >= _U32 or registrar >= _U32:
        regs[7] = WHO
        return None
    e = pair.x.state
    e.manager, e.delegator, e.registrar = manager, delegator, registrar
    e.assigners = tuple(
        int.from_bytes(raw[4 * c : 4 * c + 4], "little") for c in range(cores_count)
    )
    e.always_acc = {
        int.from_bytes(entries[12 * i : 12 * i + 4], "little"): int.from_bytes(
            entries[12 * i + 4 : 12 * i + 12], "little"
        )
        for i in range(n)
    }
    regs[7] = OK
    return None


def assign(
    state: MachineState, pair: ContextPair, cores_count: int, queue_size: int
) -> Exit | None:
    """Ω_A (`assign` = 15): core ω_7's authorizer queue = the Q hashes at ω_8 and its
    assigner = ω_9, if x_s is that core's assigner."""
    regs = state.registers
    core, o, assigner = regs[7], regs[8], regs[9]
    raw = read_memory(state.memory, o, 32 * queue_size)
    # Verify the queue is readable
    if raw is None:
        return PANIC
    e = pair.x.state
    # Verify the core exists, x_s assigns it and the new assigner is a service id
    if core >= cores_count:
        regs[7] = CORE
        return None
    if pair.x.id != e.assigners[core]:
        regs[7] = HUH
        return None
    if assigner >= _U32:
        regs[7] = WHO
        return None
    queue = tuple(raw[32 * i : 32 * i + 32] for i in range(queue_size))
    current = e.auth_queue or tuple(() for _ in range(cores_count))
    e.auth_queue = current[:core] + (queue,) + current[core + 1 :]
    e.assigners = e.assigners[:core] + (assigner,) + e.assigners[core + 1 :]
    regs[7] = OK
    return None


def designate(state: MachineState, pair: ContextPair, validators_count: int) -> Exit | None:
    """Ω_D (`designate` = 16): the staging set = the V keys of 336 octets at ω_7, if x_s
    is the delegator."""
    regs = state.registers
    raw = read_memory(state.memory, regs[7], VALIDATOR_KEY_SIZE * validators_count)
    # Verify the keys are readable
    if raw is None:
        return PANIC
    e = pair.x.state
    # Verify x_s is the delegator
    if pair.x.id != e.delegator:
        regs[7] = HUH
        return None
    size = VALIDATOR_KEY_SIZE
    e.staging_set = tuple(
        VALIDATOR_KEY.decode(raw[size * i : size * (i + 1)]) for i in range(validators_count)
    )
    regs[7] = OK
    return None


def checkpoint(state: MachineState, pair: ContextPair) -> Exit | None:
    """Ω_C (`checkpoint` = 17): y' = x, ω'_7 = ϱ'."""
    pair.y = pair.x.copy()
    state.registers[7] = max(state.gas, 0)
    return None


def new(
    state: MachineState, pair: ContextPair, slot: int, taken: Callable[[int], bool]
) -> Exit | None:
    """Ω_N (`new` = 18): create a service with code hash µ[ω_7..+32] of length ω_8, gas
    limits ω_9, ω_10 and gratis ω_11, funded with its threshold balance by x_s; the
    registrar may pick an id ω_12 below S. `taken` tells the ids of check (eq. B.13)."""
    regs = state.registers
    o, length, min_item_gas, min_memo_gas, gratis, wanted = regs[7:13]
    code_hash = read_memory(state.memory, o, 32)
    # Verify the code hash is readable and the length is a 32-bit natural
    if code_hash is None or length >= _U32:
        return PANIC
    x = pair.x
    e = x.state
    own = x.own
    assert own is not None
    threshold = threshold_balance(2, 81 + length, gratis)
    balance = own.info.balance - threshold
    # Verify only the manager grants gratis storage, and x_s can fund the new account
    if gratis != 0 and x.id != e.manager:
        regs[7] = HUH
        return None
    if balance < own.threshold:
        regs[7] = CASH
        return None
    reserved = x.id == e.registrar and wanted < MIN_PUBLIC_INDEX
    # Verify a reserved id is free
    if reserved and e.exists(wanted):
        regs[7] = FULL
        return None
    service = wanted if reserved else x.next_free_id
    info = ServiceInfo(
        version=0,
        code_hash=code_hash,
        balance=threshold,
        min_item_gas=min_item_gas,
        min_memo_gas=min_memo_gas,
        bytes=0,
        deposit_offset=gratis,
        items=0,
        creation_slot=slot,
        last_accumulation_slot=0,
        parent_service=x.id,
    )
    account = AccountView(service, info, {})
    account.set_request(code_hash, length, ())
    e.add(account)
    own.info = replace(own.info, balance=balance)
    if not reserved:
        candidate = MIN_PUBLIC_INDEX + (x.next_free_id - MIN_PUBLIC_INDEX + 42) % _ID_SPACE
        x.next_free_id = next_service_id(candidate, taken)
    regs[7] = service
    return None


def upgrade(state: MachineState, pair: ContextPair) -> Exit | None:
    """Ω_U (`upgrade` = 19): x_s's code hash = µ[ω_7..+32], gas limits ω_8, ω_9."""
    regs = state.registers
    code_hash = read_memory(state.memory, regs[7], 32)
    # Verify the code hash is readable
    if code_hash is None:
        return PANIC
    own = pair.x.own
    assert own is not None
    own.info = replace(own.info, code_hash=code_hash, min_item_gas=regs[8], min_memo_gas=regs[9])
    regs[7] = OK
    return None


def transfer(state: MachineState, pair: ContextPair, base_gas: int) -> Exit | None:
    """Ω_T (`transfer` = 20, gas 10 + l on success, else 10): defer a transfer of ω_8 to
    service ω_7 with gas limit l = ω_9 and the memo at ω_10, debiting x_s."""
    regs = state.registers
    if state.gas < base_gas:
        return OUT_OF_GAS
    dest, amount, limit, o = regs[7], regs[8], regs[9], regs[10]
    memo = read_memory(state.memory, o, MEMO_SIZE)
    # Verify the memo is readable
    if memo is None:
        state.gas -= base_gas
        return PANIC
    x = pair.x
    receiver = x.state.view(dest)
    own = x.own
    assert own is not None
    balance = own.info.balance - amount
    # Verify the receiver exists, accepts the gas limit, and x_s stays above its threshold
    if receiver is None:
        result = WHO
    elif limit < receiver.info.min_memo_gas:
        result = LOW
    elif balance < own.threshold:
        result = CASH
    else:
        result = OK
    cost = base_gas + (limit if result == OK else 0)
    if state.gas < cost:
        return OUT_OF_GAS
    state.gas -= cost
    if result == OK:
        x.transfers.append(DeferredTransfer(x.id, dest, amount, memo, limit))
        own.info = replace(own.info, balance=balance)
    regs[7] = result
    return None


def eject(state: MachineState, pair: ContextPair, slot: int, expunge_period: int) -> Exit | None:
    """Ω_J (`eject` = 21): remove service ω_7, whose code hash is E_32(x_s) and whose only
    items are the request (µ[ω_8..+32], l) unavailable since before t - D, crediting its
    balance to x_s."""
    regs = state.registers
    target = regs[7]
    h = read_memory(state.memory, regs[8], 32)
    # Verify the hash is readable
    if h is None:
        return PANIC
    x = pair.x
    account = x.state.view(target) if target != x.id else None
    # Verify the target exists and names x_s as its code hash
    if account is None or account.info.code_hash != x.id.to_bytes(32, "little"):
        regs[7] = WHO
        return None
    length = max(81, account.info.bytes) - 81
    request = account.request(h, length) if length < _U32 else None
    # Verify the target holds only that request, expired
    if account.info.items != 2 or request is None:
        regs[7] = HUH
        return None
    if len(request) == 2 and request[1] < slot - expunge_period:
        own = x.own
        assert own is not None
        x.state.remove(target)
        own.info = replace(own.info, balance=own.info.balance + account.info.balance)
        regs[7] = OK
        return None
    regs[7] = HUH
    return None


def query(state: MachineState, pair: ContextPair) -> Exit | None:
    """Ω_Q (`query` = 22): the status of x_s's request (µ[ω_7..+32], ω_8) in ω_7, ω_8."""
    regs = state.registers
    h = read_memory(state.memory, regs[7], 32)
    # Verify the hash is readable
    if h is None:
        return PANIC
    own = pair.x.state.view(pair.x.id)
    request = own.request(h, regs[8]) if own is not None and regs[8] < _U32 else None
    if request is None:
        regs[7], regs[8] = NONE, 0
    elif len(request) == 0:
        regs[7], regs[8] = 0, 0
    elif len(request) == 1:
        regs[7], regs[8] = 1 + (request[0] << 32), 0
    elif len(request) == 2:
        regs[7], regs[8] = 2 + (request[0] << 32), request[1]
    else:
        regs[7], regs[8] = 3 + (request[0] << 32), request[1] + (request[2] << 32)
    return None


def solicit(state: MachineState, pair: ContextPair, slot: int) -> Exit | None:
    """Ω_S (`solicit` = 23): request the preimage (µ[ω_7..+32], ω_8), or re-request an
    unavailable one; FULL when the new threshold a_t exceeds the balance, which is checked
    before the length (a new request of length z adds 81 + z octets, eq. 9.8)."""
    regs = state.registers
    h = read_memory(state.memory, regs[7], 32)
    # Verify the hash is readable
    if h is None:
        return PANIC
    length = regs[8]
    own = pair.x.own
    assert own is not None
    # A length of 2^32 or more is never a key of a_l, so it asks for a new request
    request = own.request(h, length) if length < _U32 else None
    if request is None:
        items, octets, slots = own.info.items + 2, own.info.bytes + 81 + length, ()
    elif len(request) == 2:
        items, octets, slots = own.info.items, own.info.bytes, (*request, slot)
    else:
        regs[7] = HUH
        return None
    # Verify the balance covers the new threshold
    if own.info.balance < threshold_balance(items, octets, own.info.deposit_offset):
        regs[7] = FULL
        return None
    # Verify the request can be a key of a_l (its length is in N_L = N_{2^32})
    if length >= _U32:
        regs[7] = HUH
        return None
    own.set_request(h, length, slots)
    regs[7] = OK
    return None


def forget(state: MachineState, pair: ContextPair, slot: int, expunge_period: int) -> Exit | None:
    """Ω_F (`forget` = 24): drop the request (µ[ω_7..+32], ω_8) if never provided or
    expired, else mark it unavailable."""
    regs = state.registers
    h = read_memory(state.memory, regs[7], 32)
    # Verify the hash is readable
    if h is None:
        return PANIC
    length = regs[8]
    own = pair.x.own
    assert own is not None
    request = own.request(h, length) if length < _U32 else None
    expired = slot - expunge_period
    if request is None:
        regs[7] = HUH
        return None
    if len(request) == 0 or (len(request) == 2 and request[1] < expired):
        own.set_request(h, length, None)
        own.set_preimage(h, None)
    elif len(request) == 1:
        own.set_request(h, length, (request[0], slot))
    elif len(request) == 3 and request[1] < expired:
        own.set_request(h, length, (request[2], slot))
    else:
        regs[7] = HUH
        return None
    regs[7] = OK
    return None


def yield_(state: MachineState, pair: ContextPair) -> Exit | None:
    """Ω_Ψ (`yield` = 25): x_y = µ[ω_7..+32]."""
    regs = state.registers
    h = read_memory(state.memory, regs[7], 32)
    # Verify the hash is readable
    if h is None:
        return PANIC
    pair.x.yielded = h
    regs[7] = OK
    return None


def provide(state: MachineState, pair: ContextPair) -> Exit | None:
    """Ω_Ω (`provide` = 26): provide the blob µ[ω_8..+ω_9] to service ω_7 (x_s for
    2^64 - 1), which must have requested it."""
    regs = state.registers
    x = pair.x
    service = x.id if regs[7] == NONE else regs[7]
    blob = read_memory(state.memory, regs[8], regs[9])
    # Verify the blob is readable
    if blob is None:
        return PANIC
    account: AccountView | None = x.state.view(service)
    # Verify the service exists, requested the blob, and it is not yet provided
    if account is None:
        regs[7] = WHO
        return None
    if account.request(blake2b_256(blob), len(blob)) != ():
        regs[7] = HUH
        return None
    if (service, blob) in x.provisions:
        regs[7] = HUH
        return None
    x.provisions.add((service, blob))
    regs[7] = OK
    return None
