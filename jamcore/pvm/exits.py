"""How a PVM run ends (graypaper A.1): the exit reasons and the package's error types.

A program can only ever end a run with an `Exit`; the exceptions here are either raised for
bad input *before* execution (`PvmBlobError`, `PvmError`) or used internally to unwind a
faulting memory access, and never escape a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class PvmError(Exception):
    """Bad input to the PVM (a malformed blob, register file or memory layout)."""


class PvmBlobError(PvmError):
    """A program blob that does not decode as the graypaper program format (A.2, A.37)."""


class ExitStatus(Enum):
    """The exit reason ε of Ψ (A.1): halt, panic, out-of-gas, page fault or host call."""

    HALT = "halt"
    PANIC = "panic"
    OUT_OF_GAS = "out-of-gas"
    PAGE_FAULT = "page-fault"
    HOST_CALL = "host-call"


@dataclass(frozen=True)
class Exit:
    """An exit reason with its associated value: the faulting page address for a page
    fault, the call index for a host call, 0 otherwise."""

    status: ExitStatus
    value: int = 0


HALT = Exit(ExitStatus.HALT)
PANIC = Exit(ExitStatus.PANIC)
OUT_OF_GAS = Exit(ExitStatus.OUT_OF_GAS)


class MemoryFault(Exception):
    """Internal: an access touched an inaccessible page (its page address is `address`)."""

    def __init__(self, address: int) -> None:
        super().__init__(address)
        self.address = address


class MemoryPanic(Exception):
    """Internal: an access touched an inaccessible index below 2^16, which panics (A.7)."""
