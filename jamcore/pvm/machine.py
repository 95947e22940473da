"""The PVM machine state (graypaper A.1): instruction counter ı, gas ϱ, the 13 registers
ω and RAM µ.

It is deliberately mutable: a run advances it in place, and a host call (A.33) reads and
changes it before the run resumes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from jamcore.pvm.exits import PvmError
from jamcore.pvm.memory import Memory

REGISTER_COUNT = 13
MAX_REGISTER = (1 << 64) - 1


@dataclass(slots=True)
class MachineState:
    """ı, ϱ, ω, µ: where execution continues, gas left, registers and RAM."""

    pc: int
    gas: int
    registers: list[int]
    memory: Memory = field(default_factory=Memory)

    @classmethod
    def create(
        cls, *, pc: int, gas: int, registers: Sequence[int], memory: Memory | None = None
    ) -> MachineState:
        """A validated state: 13 registers below 2^64, pc below 2^32, gas a signed 64-bit
        integer."""
        if len(registers) != REGISTER_COUNT:
            raise PvmError(f"expected {REGISTER_COUNT} registers, got {len(registers)}")
        for i, value in enumerate(registers):
            if not 0 <= value <= MAX_REGISTER:
                raise PvmError(f"register r{i} = {value} is not a natural below 2^64")
        if not 0 <= pc < 1 << 32:
            raise PvmError(f"pc {pc} is not a natural below 2^32")
        if not -(1 << 63) <= gas < 1 << 63:
            raise PvmError(f"gas {gas} is not a signed 64-bit integer")
        return cls(pc, gas, list(registers), memory if memory is not None else Memory())
