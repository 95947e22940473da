"""A decoded program: instructions with their operands, basic blocks and block gas
(graypaper A.3-A.5).

Decoding follows the graypaper exactly: skip(i) from the bitmask (A.3), ζ = c padded with
zeros (A.4), opcode(n) = 0 (trap) unless k_n = 1 and c_n is a valid opcode (A.17), register
indices clamped to 12, immediates sign-extended from their encoded length (A.16), offsets
relative to the instruction. ϖ, the basic-block starts, is computed per A.5.

Gas: every instruction costs 1 (the Δ column of the tables). The test vectors, produced by
the reference implementation, charge a basic block's whole cost on entry: a block's cost is
the number of instructions from the entry point up to and including its terminator, and a
page fault inside the block keeps that charge. We follow the vectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from jamcore.pvm.blob import ProgramCode, deblob
from jamcore.pvm.instructions import OPCODES, TERMINATORS, ArgKind, Opcode

MAX_SKIP = 24


def sign_extend(value: int, length: int) -> int:
    """X_n: sign-extend an n-octet natural to a 64-bit register value (A.16)."""
    if length == 0:
        return 0
    if value >> (8 * length - 1):
        return value + (1 << 64) - (1 << (8 * length))
    return value


def to_signed(value: int, length: int) -> int:
    """Z_n: the signed interpretation of an n-octet natural (A.10)."""
    if value >> (8 * length - 1):
        return value - (1 << (8 * length))
    return value


@dataclass(frozen=True, slots=True)
class Instruction:
    """One decoded instruction at `pc`: its opcode, operands (in the graypaper's order
    for its kind, offsets already made absolute) and the pc of the next instruction."""

    pc: int
    opcode: Opcode
    args: tuple[int, ...]
    next_pc: int

    @property
    def name(self) -> str:
        return self.opcode.name


class Program:
    """The decoded form of a program blob, shared by the interpreter and the fast path."""

    def __init__(self, code: ProgramCode) -> None:
        self.code = code.code
        self.bitmask = code.bitmask
        self.jump_table = code.jump_table
        self._zeta = self.code + bytes(32)
        self._instructions: dict[int, Instruction] = {}
        self._costs: dict[int, int] = {}
        self.compiled: object | None = None  # filled in by jamcore.pvm.fast

    @classmethod
    def from_blob(cls, blob: bytes) -> Program:
        """Deblob and decode a program blob (A.2); PvmBlobError if malformed."""
        return cls(deblob(blob))

    # -- skip and opcodes (A.3, A.17) --------------------------------------------------------

    @cached_property
    def _skips(self) -> list[int]:
        """skip(i) for every i < |c|, in one backward pass over k ++ [1, 1, ...]."""
        skips = [0] * len(self.bitmask)
        next_opcode = len(self.bitmask)
        for i in range(len(self.bitmask) - 1, -1, -1):
            skips[i] = min(MAX_SKIP, next_opcode - i - 1)
            if self.bitmask[i]:
                next_opcode = i
        return skips

    def skip(self, pc: int) -> int:
        """skip(i): octets minus one to the next opcode per the bitmask, at most 24 (A.3)."""
        if 0 <= pc < len(self.bitmask):
            return self._skips[pc]
        return 0

    def opcode_at(self, pc: int) -> Opcode:
        """opcode(n): c_n if the bitmask marks it and it is valid, else trap (A.17)."""
        if 0 <= pc < len(self.code) and self.bitmask[pc]:
            op = OPCODES.get(self.code[pc])
            if op is not None:
                return op
        return OPCODES[0]

    @cached_property
    def basic_blocks(self) -> frozenset[int]:
        """ϖ: 0 and every instruction after a terminator, when it is a valid opcode (A.5)."""
        starts = {0}
        for n, is_opcode in enumerate(self.bitmask):
            if is_opcode and self.code[n] in TERMINATORS:
                starts.add(n + 1 + self.skip(n))
        return frozenset(
            n
            for n in starts
            if n < len(self.code) and self.bitmask[n] and self.code[n] in OPCODES
        )

    @cached_property
    def jump_targets(self) -> dict[int, int]:
        """Dynamic address a -> target pc for every a that djump accepts (A.18)."""
        blocks = self.basic_blocks
        return {
            2 * (i + 1): target
            for i, target in enumerate(self.jump_table)
            if target in blocks
        }

    # -- decoding (A.5.1-A.5.13) -------------------------------------------------------------

    def _imm(self, start: int, length: int) -> int:
        return sign_extend(int.from_bytes(self._zeta[start : start + length], "little"), length)

    def _offset(self, pc: int, start: int, length: int) -> int:
        raw = int.from_bytes(self._zeta[start : start + length], "little")
        return pc + (to_signed(raw, length) if length else 0)

    def instruction(self, pc: int) -> Instruction:
        """The instruction at `pc`, decoded once and cached."""
        cached = self._instructions.get(pc)
        if cached is not None:
            return cached
        op = self.opcode_at(pc)
        skip = self.skip(pc) if 0 <= pc < len(self.code) else 0
        zeta = self._zeta
        kind = op.kind
        args: tuple[int, ...]
        if kind is ArgKind.NONE:
            args = ()
        elif kind is ArgKind.IMM:
            args = (self._imm(pc + 1, min(4, skip)),)
        elif kind is ArgKind.REG_EXT_IMM:
            args = (min(12, zeta[pc + 1] % 16), int.from_bytes(zeta[pc + 2 : pc + 10], "little"))
        elif kind is ArgKind.IMM_IMM:
            lx = min(4, zeta[pc + 1] % 8)
            ly = min(4, max(0, skip - lx - 1))
            args = (self._imm(pc + 2, lx), self._imm(pc + 2 + lx, ly))
        elif kind is ArgKind.OFFSET:
            args = (self._offset(pc, pc + 1, min(4, skip)),)
        elif kind is ArgKind.REG_IMM:
            args = (min(12, zeta[pc + 1] % 16), self._imm(pc + 2, min(4, max(0, skip - 1))))
        elif kind in (ArgKind.REG_IMM_IMM, ArgKind.REG_IMM_OFFSET):
            ra = min(12, zeta[pc + 1] % 16)
            lx = min(4, zeta[pc + 1] // 16 % 8)
            ly = min(4, max(0, skip - lx - 1))
            second = (
                self._imm(pc + 2 + lx, ly)
                if kind is ArgKind.REG_IMM_IMM
                else self._offset(pc, pc + 2 + lx, ly)
            )
            args = (ra, self._imm(pc + 2, lx), second)
        elif kind is ArgKind.REG_REG:
            args = (min(12, zeta[pc + 1] % 16), min(12, zeta[pc + 1] // 16))
        elif kind is ArgKind.REG_REG_IMM:
            args = (
                min(12, zeta[pc + 1] % 16),
                min(12, zeta[pc + 1] // 16),
                self._imm(pc + 2, min(4, max(0, skip - 1))),
            )
        elif kind is ArgKind.REG_REG_OFFSET:
            args = (
                min(12, zeta[pc + 1] % 16),
                min(12, zeta[pc + 1] // 16),
                self._offset(pc, pc + 2, min(4, max(0, skip - 1))),
            )
        elif kind is ArgKind.REG_REG_IMM_IMM:
            lx = min(4, zeta[pc + 2] % 8)
            ly = min(4, max(0, skip - lx - 2))
            args = (
                min(12, zeta[pc + 1] % 16),
                min(12, zeta[pc + 1] // 16),
                self._imm(pc + 3, lx),
                self._imm(pc + 3 + lx, ly),
            )
        else:  # three registers: (r_A, r_B, r_D)
            args = (
                min(12, zeta[pc + 1] % 16),
                min(12, zeta[pc + 1] // 16),
                min(12, zeta[pc + 2]),
            )
        instruction = Instruction(pc, op, args, pc + 1 + skip)
        self._instructions[pc] = instruction
        return instruction

    def block_cost(self, pc: int) -> int:
        """Gas charged on entering at `pc`: instructions up to and including the next
        terminator (see the module docstring)."""
        cost = self._costs.get(pc)
        if cost is None:
            cost, cursor = 1, pc
            while self.opcode_at(cursor).number not in TERMINATORS:
                cursor = self.instruction(cursor).next_pc
                cost += 1
            self._costs[pc] = cost
        return cost

    def block(self, pc: int) -> list[Instruction]:
        """The instructions from `pc` up to and including the next terminator."""
        body = [self.instruction(pc)]
        while body[-1].opcode.number not in TERMINATORS:
            body.append(self.instruction(body[-1].next_pc))
        return body
