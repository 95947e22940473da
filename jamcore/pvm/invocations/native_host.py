"""The scratch machine of native services (see `jamcore.pvm.invocations.native`).

`ScratchHost` executes one real host call at a time: it lays the arguments out in a scratch
`MachineState` (registers ω_7..ω_12 and a writable RAM region from IN_BASE, the output
region [OUT_BASE, 2^32) mapped lazily), dispatches the call index through the invocation's
dispatcher F (eq. B.6 or B.11) exactly as Ψ_H does on `ecalli` (A.33), and hands back the
registers. The machine's gas counter ϱ is the service's gas. A call ending the run (its
PANIC, or ϱ' < 0) ends the invocation: `NativePanic` unwinds the native code and `ended`
says how it ended. The B.1 error constants surface as `HostCallError` subclasses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TypeVar

from jamcore.errors import JamError
from jamcore.pvm import host_calls as hc
from jamcore.pvm.exits import OUT_OF_GAS, PANIC, Exit, ExitStatus, MemoryFault, MemoryPanic
from jamcore.pvm.host import HostCall
from jamcore.pvm.machine import MachineState
from jamcore.pvm.memory import Memory

_log = logging.getLogger("jamcore.pvm.invocations.native")
_T = TypeVar("_T")
_U64 = 1 << 64
IN_BASE = 0x10000
"""Where a call's memory arguments are laid out (above the 2^16 panic zone)."""
OUT_BASE = 0x8000_0000
"""Where a call's output is written: [OUT_BASE, 2^32) is mapped writable, lazily."""
OUT_SIZE = (1 << 32) - OUT_BASE

# -- errors ------------------------------------------------------------------------------------


class HostCallError(JamError):
    """A host call answered one of the error constants of B.1 in ω_7 (`result`)."""

    code = "host_call_error"
    result: int = 0

    def __init__(self, call: str) -> None:
        super().__init__(f"{call}: {self.code.upper()}")
        self.call = call


class WhatError(HostCallError):
    """WHAT: name unknown."""

    code, result = "what", hc.WHAT


class OobError(HostCallError):
    """OOB: inner memory index not accessible."""

    code, result = "oob", hc.OOB


class WhoError(HostCallError):
    """WHO: index unknown."""

    code, result = "who", hc.WHO


class FullError(HostCallError):
    """FULL: storage full (the threshold would exceed the balance) or already allocated."""

    code, result = "full", hc.FULL


class CoreError(HostCallError):
    """CORE: core index unknown."""

    code, result = "core", hc.CORE


class CashError(HostCallError):
    """CASH: insufficient funds."""

    code, result = "cash", hc.CASH


class LowError(HostCallError):
    """LOW: gas limit too low."""

    code, result = "low", hc.LOW


class HuhError(HostCallError):
    """HUH: already solicited, cannot be forgotten, or invalid for the privilege level."""

    code, result = "huh", hc.HUH


HOST_ERRORS: Mapping[int, type[HostCallError]] = {
    e.result: e
    for e in (WhatError, OobError, WhoError, FullError, CoreError, CashError, LowError, HuhError)
}
"""The error class of each B.1 error constant."""


class NativePanic(BaseException):  # noqa: N818 - a control-flow signal, like GeneratorExit
    """The invocation ended (panic or out-of-gas): raised by every host method once the
    run is over, so the native code unwinds. A BaseException, so `except Exception` in
    native code does not swallow it (and the host stays ended if it is caught anyway)."""

    def __init__(self, status: ExitStatus) -> None:
        super().__init__(status.value)
        self.status = status


# -- the scratch machine -------------------------------------------------------------------


class ScratchHost:
    """A host-call adapter over one scratch `MachineState` whose gas is the service's."""

    __slots__ = ("machine", "ended", "_dispatch")

    def __init__(self, dispatch: HostCall, gas: int) -> None:
        self.machine = MachineState(0, gas, [0] * 13, Memory())
        self.ended: ExitStatus | None = None
        """None while running; PANIC or OUT_OF_GAS once the invocation ended."""
        self._dispatch = dispatch

    def _end(self, status: ExitStatus) -> NativePanic:
        if status is ExitStatus.OUT_OF_GAS:
            self.machine.gas = min(self.machine.gas, 0)  # ϱ' = ϱ - g < 0 (B.7)
        self.ended = status
        return NativePanic(status)

    def _call(self, index: int, *args: int | bytes) -> list[int]:
        """Host call `index` with ω_7.. = args, each bytes argument laid out in scratch RAM
        and passed by address; the registers after the call. Raises NativePanic when the
        call ends the run (as Ψ_H does, A.33)."""
        if self.ended is not None:
            raise NativePanic(self.ended)
        machine = self.machine
        memory = Memory()
        memory.map(OUT_BASE, OUT_SIZE, writable=True)
        registers = [0] * 13
        cursor = IN_BASE
        for i, arg in enumerate(args, start=7):
            if isinstance(arg, int):
                if not 0 <= arg < _U64:
                    raise ValueError(f"host call {index}: argument {arg} is not below 2^64")
                registers[i] = arg
                continue
            if cursor + len(arg) > OUT_BASE:
                raise ValueError(f"host call {index}: arguments exceed the scratch RAM")
            if arg:
                memory.map(cursor, len(arg), writable=True)
                memory.write(cursor, bytes(arg))
            registers[i] = cursor
            cursor += len(arg)
        machine.registers, machine.memory = registers, memory
        try:
            outcome: Exit | None = self._dispatch(index, machine)
        except (MemoryFault, MemoryPanic):
            outcome = PANIC
        # Verify the call's gas was covered (ϱ' < 0 is out of gas, A.33)
        if outcome is None and machine.gas < 0:
            outcome = OUT_OF_GAS
        if outcome is not None:
            raise self._end(outcome.status)
        return machine.registers

    def _output(self, result: int) -> bytes | None:
        """The value an output-writing call (fetch, lookup, read, info, historical_lookup)
        put at OUT_BASE: None for NONE, else its ω_7 = |v| octets."""
        if result == hc.NONE:
            return None
        return self.machine.memory.read(OUT_BASE, result) if result else b""

    @staticmethod
    def _status(call: str, result: int) -> int:
        """`result`, unless it is an error constant of B.1: then its HostCallError."""
        error = HOST_ERRORS.get(result)
        if error is not None:
            raise error(call)
        return result

    # -- the general functions (B.6) and the native code's own gas ------------------------

    def charge(self, amount: int) -> None:
        """Take `amount` gas for the native code's own work; out of gas ends the run."""
        if amount < 0:
            raise ValueError("gas charges are non-negative")
        if self.ended is not None:
            raise NativePanic(self.ended)
        self.machine.gas -= amount
        if self.machine.gas < 0:
            raise self._end(ExitStatus.OUT_OF_GAS)

    def gas(self) -> int:
        """Ω_G (`gas` = 0): the gas left after this call's 10."""
        return self._call(hc.GAS)[7]

    def fetch(self, kind: int, a: int = 0, b: int = 0) -> bytes | None:
        """Ω_Y (`fetch` = 1): item ω_10 = kind (ω_11 = a, ω_12 = b), or None."""
        return self._output(self._call(hc.FETCH, OUT_BASE, 0, OUT_SIZE, kind, a, b)[7])

    def log(self, message: bytes | str, level: int = 2, target: bytes | str = b"") -> None:
        """JIP-1 `log` (100): a debug message; changes nothing but the gas."""
        raw = message.encode() if isinstance(message, str) else message
        name = target.encode() if isinstance(target, str) else target
        self._call(hc.LOG, level, name, len(name), raw, len(raw))


def run_native(host: ScratchHost, entry: Callable[[], _T]) -> tuple[ExitStatus | None, _T | None]:
    """Run native code: (None, its result), or (PANIC / OUT_OF_GAS, None) when the run
    ended, including by an exception escaping the code (a panic)."""
    try:
        value = entry()
    except NativePanic:  # raised by a host method once the run ended (or by the code)
        value = None
        host.ended = host.ended or ExitStatus.PANIC
    except Exception:  # any failure of the native code is a panic of the invocation
        _log.debug("native service panicked", exc_info=True)
        host.ended = host.ended or ExitStatus.PANIC
    if host.ended is not None:
        return host.ended, None
    return None, value
