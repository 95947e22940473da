"""Native services: Python refine/accumulate code behind the PVM's host-call interface.

A service whose work is too heavy for the interpreter (the shielded pool verifies Groth16
proofs) may run as Python instead of PVM code. This is an implementation choice, not a
graypaper rule: the service is still an account of δ with a code hash and a code preimage,
and the implementation registered for that code hash (`natives`, threaded from
`import_block` down to Ψ_A and Ψ_R) runs in place of Ψ_M. Everything the native code does
to the state goes through the REAL host functions of Appendix B: each `AccumulateHost` /
`RefineHost` method lays its arguments out in a scratch `MachineState` (registers ω_7..ω_12
and a writable RAM region), dispatches the call index through the dispatcher F the PVM uses
(`_Mutator`, eq. B.11, for accumulate; `refine_dispatcher`, eq. B.6, for refine), and decodes
the result registers and RAM. Footprints (eq. 9.8), thresholds, the 10 gas of every call,
checkpoints (Ω_C), transfers, yields and provisions are thus exactly the graypaper's.

Gas: the scratch machine's counter ϱ is the service's gas g; `charge` takes gas for the
native code's own work. A call the gas cannot cover, a host function ending the run (its
PANIC, e.g. an unreadable range), or any exception escaping the native code is a panic of
the invocation: the context collapses to its exceptional dimension y (C, eq. B.12), as
`_collapse` does for a PVM panic or out-of-gas. Host-call result codes (B.1) surface as
`HostCallError` subclasses; a native that lets one escape panics too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from jamcore.pvm import host_calls as hc
from jamcore.pvm.host import gas_used
from jamcore.pvm.host_calls.accumulate import VALIDATOR_KEY_SIZE
from jamcore.pvm.host_calls.general import AUTH_QUEUE_SIZE, MEMO_SIZE
from jamcore.pvm.invocations.accumulate import AccumulationOutcome, _collapse, _Mutator
from jamcore.pvm.invocations.context import AccumulationInput
from jamcore.pvm.invocations.native_host import (
    HOST_ERRORS,
    OUT_BASE,
    OUT_SIZE,
    CashError,
    CoreError,
    FullError,
    HostCallError,
    HuhError,
    LowError,
    NativePanic,
    OobError,
    ScratchHost,
    WhatError,
    WhoError,
    run_native,
)

if TYPE_CHECKING:
    from jamcore.pvm.invocations.native_refine import RefineHost

__all__ = [
    "HOST_ERRORS", "AccumulateHost", "CashError", "CoreError", "FullError",
    "HostCallError", "HuhError", "LowError", "NativePanic", "NativeService", "Natives",
    "OobError", "ScratchHost", "ServiceRecord", "WhatError", "WhoError", "accumulate_native",
]

# -- the native service contract -----------------------------------------------------------


class NativeService(Protocol):
    """A service implemented in Python, registered by its code hash."""

    def accumulate(
        self,
        host: AccumulateHost,
        slot: int,
        service: int,
        inputs: Sequence[AccumulationInput],
    ) -> None:
        """The accumulate entry point (eq. B.9, the PVM's pc 5, arguments E(t, s, |i|)):
        act on the state through `host`; yield through `host.yield_`. The inputs i come
        decoded (a PVM service fetches them, `host.fetch(14)` / `host.fetch(15, n)` give
        the same octets); an exception escaping is a panic."""
        ...

    def refine(
        self,
        host: RefineHost,
        core: int,
        item_index: int,
        service: int,
        payload: bytes,
        package_hash: bytes,
    ) -> bytes:
        """The refine entry point (eq. B.5, the PVM's pc 0, arguments E(c, i, w_s, ↕w_y,
        H(p))): the work output; exports go through `host.export`."""
        ...


Natives = Mapping[bytes, NativeService]
"""Native implementations by code hash."""


# -- accumulate ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceRecord:
    """v of Ω_I decoded: a_c, a_b, a_t, a_g, a_m, a_o, a_i, a_f, a_r, a_a, a_p."""

    code_hash: bytes
    balance: int
    threshold: int
    min_item_gas: int
    min_memo_gas: int
    bytes: int
    items: int
    deposit_offset: int
    creation_slot: int
    last_accumulation_slot: int
    parent_service: int

    @classmethod
    def decode(cls, raw: bytes) -> ServiceRecord:
        """From E(a_c, E_8(a_b, a_t, a_g, a_m, a_o), E_4(a_i), E_8(a_f), E_4(a_r, a_a, a_p))."""
        widths = (8, 8, 8, 8, 8, 4, 8, 4, 4, 4)
        values, at = [], 32
        for width in widths:
            values.append(int.from_bytes(raw[at : at + width], "little"))
            at += width
        return cls(raw[:32], *values)


def _self_or(service: int | None) -> int:
    """ω_7 naming a service: 2^64 - 1 for x_s itself."""
    return hc.NONE if service is None else service


def _hash(value: bytes) -> bytes:
    if len(value) != 32:
        raise ValueError(f"expected a 32-octet hash, got {len(value)} octets")
    return value


def _exact(what: str, items: Sequence[bytes], count: int, size: int) -> bytes:
    if len(items) != count or any(len(item) != size for item in items):
        raise ValueError(f"{what}: expected {count} items of {size} octets")
    return b"".join(items)


class AccumulateHost(ScratchHost):
    """The accumulate host calls (B.6, B.8) over the context pair of one Ψ_A run."""

    __slots__ = ("cores", "validators")

    def __init__(self, mutator: _Mutator, gas: int) -> None:
        super().__init__(mutator, gas)
        self.cores = mutator.spec.cores_count
        self.validators = mutator.spec.validators_count

    def lookup(self, preimage_hash: bytes, service: int | None = None) -> bytes | None:
        """Ω_L (`lookup` = 2): the preimage of `preimage_hash` held by `service` (self)."""
        h = _hash(preimage_hash)
        regs = self._call(hc.LOOKUP, _self_or(service), h, OUT_BASE, 0, OUT_SIZE)
        return self._output(regs[7])

    def read(self, key: bytes, service: int | None = None) -> bytes | None:
        """Ω_R (`read` = 3): storage item `key` of `service` (self), or None."""
        regs = self._call(hc.READ, _self_or(service), key, len(key), OUT_BASE, 0, OUT_SIZE)
        return self._output(regs[7])

    def write(self, key: bytes, value: bytes | None) -> int | None:
        """Ω_W (`write` = 4): a_s[key] = value (None or b"" removes it); the previous
        value's length or None. FullError (nothing changed) when a_t would exceed a_b."""
        data = value or b""
        result = self._status("write", self._call(hc.WRITE, key, len(key), data, len(data))[7])
        return None if result == hc.NONE else result

    def info(self, service: int | None = None) -> ServiceRecord | None:
        """Ω_I (`info` = 5): the account record of `service` (self), or None."""
        raw = self._output(self._call(hc.INFO, _self_or(service), OUT_BASE, 0, OUT_SIZE)[7])
        return None if raw is None else ServiceRecord.decode(raw)

    def bless(
        self,
        manager: int,
        assigners: Sequence[int],
        delegator: int,
        registrar: int,
        always_acc: Mapping[int, int],
    ) -> None:
        """Ω_B (`bless` = 14): set the privileged services (C assigners)."""
        if len(assigners) != self.cores:
            raise ValueError(f"bless: expected {self.cores} assigners")
        raw = b"".join(a.to_bytes(4, "little") for a in assigners)
        entries = b"".join(
            s.to_bytes(4, "little") + g.to_bytes(8, "little") for s, g in always_acc.items()
        )
        regs = self._call(hc.BLESS, manager, raw, delegator, registrar, entries, len(always_acc))
        self._status("bless", regs[7])

    def assign(self, core: int, queue: Sequence[bytes], assigner: int) -> None:
        """Ω_A (`assign` = 15): core `core`'s authorizer queue (Q hashes) and assigner."""
        raw = _exact("assign", queue, AUTH_QUEUE_SIZE, 32)
        self._status("assign", self._call(hc.ASSIGN, core, raw, assigner)[7])

    def designate(self, keys: Sequence[bytes]) -> None:
        """Ω_D (`designate` = 16): the staging set, V validator keys of 336 octets."""
        raw = _exact("designate", keys, self.validators, VALIDATOR_KEY_SIZE)
        self._status("designate", self._call(hc.DESIGNATE, raw)[7])

    def checkpoint(self) -> int:
        """Ω_C (`checkpoint` = 17): y' = x; the gas left."""
        return self._call(hc.CHECKPOINT)[7]

    def new(
        self,
        code_hash: bytes,
        code_length: int,
        min_item_gas: int,
        min_memo_gas: int,
        gratis: int = 0,
        service_id: int | None = None,
    ) -> int:
        """Ω_N (`new` = 18): a new service funded by x_s (the registrar may ask for an id
        below S); its id."""
        regs = self._call(
            hc.NEW, _hash(code_hash), code_length, min_item_gas, min_memo_gas, gratis,
            _self_or(service_id),
        )
        return self._status("new", regs[7])

    def upgrade(self, code_hash: bytes, min_item_gas: int, min_memo_gas: int) -> None:
        """Ω_U (`upgrade` = 19): x_s's code hash and gas limits."""
        regs = self._call(hc.UPGRADE, _hash(code_hash), min_item_gas, min_memo_gas)
        self._status("upgrade", regs[7])

    def transfer(self, dest: int, amount: int, gas_limit: int, memo: bytes = b"") -> None:
        """Ω_T (`transfer` = 20, 10 + gas_limit gas on success): defer a transfer; the memo
        is zero-padded to W_T. WhoError, LowError or CashError when refused."""
        if len(memo) > MEMO_SIZE:
            raise ValueError(f"a memo has at most {MEMO_SIZE} octets")
        padded = memo + bytes(MEMO_SIZE - len(memo))
        self._status("transfer", self._call(hc.TRANSFER, dest, amount, gas_limit, padded)[7])

    def eject(self, service: int, preimage_hash: bytes) -> None:
        """Ω_J (`eject` = 21): remove `service`, crediting its balance to x_s."""
        self._status("eject", self._call(hc.EJECT, service, _hash(preimage_hash))[7])

    def query(self, preimage_hash: bytes, length: int) -> tuple[int, ...] | None:
        """Ω_Q (`query` = 22): the slots of x_s's request (h, length), or None."""
        regs = self._call(hc.QUERY, _hash(preimage_hash), length)
        r7, r8 = regs[7], regs[8]
        if r7 == hc.NONE:
            return None
        count, first = r7 & 0xFFFFFFFF, r7 >> 32
        return ((), (first,), (first, r8), (first, r8 & 0xFFFFFFFF, r8 >> 32))[count]

    def solicit(self, preimage_hash: bytes, length: int) -> None:
        """Ω_S (`solicit` = 23): request a preimage. FullError or HuhError when refused."""
        self._status("solicit", self._call(hc.SOLICIT, _hash(preimage_hash), length)[7])

    def forget(self, preimage_hash: bytes, length: int) -> None:
        """Ω_F (`forget` = 24): forget a request. HuhError when refused."""
        self._status("forget", self._call(hc.FORGET, _hash(preimage_hash), length)[7])

    def yield_(self, output: bytes) -> None:
        """Ω_Ψ (`yield` = 25): x_y = output (32 octets, the accumulation output θ)."""
        if len(output) != 32:
            raise ValueError("a yield is a 32-octet hash")
        self._status("yield", self._call(hc.YIELD, output)[7])

    def provide(self, blob: bytes, service: int | None = None) -> None:
        """Ω_Ω (`provide` = 26): provide a requested blob to `service` (self)."""
        self._status("provide", self._call(hc.PROVIDE, _self_or(service), blob, len(blob))[7])


def accumulate_native(
    native: NativeService,
    mutator: _Mutator,
    slot: int,
    service: int,
    gas: int,
    inputs: Sequence[AccumulationInput],
) -> AccumulationOutcome:
    """Ψ_A's run of a native service (in place of Ψ_M in eq. B.9) over the context pair of
    `mutator`, collapsed by C (eq. B.12): x on return, y on panic or out-of-gas."""
    host = AccumulateHost(mutator, gas)
    status, _ = run_native(host, lambda: native.accumulate(host, slot, service, inputs))
    used = gas_used(gas, host.machine)
    return _collapse(mutator.pair, used, None if status is not None else b"")
