"""A small assembler: PVM assembly text -> program blob (for tests and benchmarks).

Syntax, one item per line (`;` starts a comment):

    loop:                          a label: the pc of the next instruction
        add_imm_64 r1, r1, 1       graypaper instruction names, operands comma-separated
        branch_ne_imm r4, 0, loop  branch/jump targets are labels or `@<pc>`
        load_imm r2, &handler      `&label`: the label's dynamic-jump address (A.18)
    .jump_table handler, loop      the dynamic jump table, in order

Operands follow the graypaper argument order of each kind, except that three-register
instructions put the destination first (`add_64 rD, rA, rB`), as does the two-register
kind (`move_reg rD, rA`). Immediates are encoded in the fewest octets that sign-extend to
the value; offsets always take four octets. Errors raise `PvmError` naming the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from jamcore.pvm.blob import ProgramCode
from jamcore.pvm.exits import PvmError
from jamcore.pvm.instructions import BY_NAME, ArgKind, Opcode

_LABEL = re.compile(r"^([A-Za-z_.][\w.]*):$")

OPERANDS: dict[ArgKind, tuple[str, ...]] = {
    ArgKind.NONE: (),
    ArgKind.IMM: ("imm",),
    ArgKind.REG_EXT_IMM: ("reg", "imm"),
    ArgKind.IMM_IMM: ("imm", "imm"),
    ArgKind.OFFSET: ("target",),
    ArgKind.REG_IMM: ("reg", "imm"),
    ArgKind.REG_IMM_IMM: ("reg", "imm", "imm"),
    ArgKind.REG_IMM_OFFSET: ("reg", "imm", "target"),
    ArgKind.REG_REG: ("reg", "reg"),
    ArgKind.REG_REG_IMM: ("reg", "reg", "imm"),
    ArgKind.REG_REG_OFFSET: ("reg", "reg", "target"),
    ArgKind.REG_REG_IMM_IMM: ("reg", "reg", "imm", "imm"),
    ArgKind.REG_REG_REG: ("reg", "reg", "reg"),
}
"""The operand types of each kind, in assembly-text order."""


@dataclass(frozen=True)
class _Line:
    number: int
    opcode: Opcode
    operands: tuple[str, ...]


def immediate_length(value: int) -> int:
    """The fewest octets l in {0..4} whose sign extension X_l gives `value` (mod 2^64)."""
    value &= (1 << 64) - 1
    signed_value = value - (1 << 64) if value >> 63 else value
    for length in range(5):
        if length == 0:
            if signed_value == 0:
                return 0
        elif -(1 << (8 * length - 1)) <= signed_value < 1 << (8 * length - 1):
            return length
    raise PvmError(f"immediate {signed_value} does not fit in 32 signed bits")


def _imm_bytes(value: int) -> bytes:
    length = immediate_length(value)
    return (value & ((1 << (8 * length)) - 1)).to_bytes(length, "little")


class _Assembly:
    def __init__(self, text: str) -> None:
        self.lines: list[_Line] = []
        self.labels: dict[str, int] = {}
        self.label_lines: dict[str, int] = {}
        self.table_names: list[str] = []
        self.resolved = False
        self._parse(text)

    def _parse(self, text: str) -> None:
        pending: list[str] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.split(";", 1)[0].strip()
            if not line:
                continue
            if line.startswith(".jump_table"):
                names = line[len(".jump_table") :].split(",")
                self.table_names += [name.strip() for name in names if name.strip()]
                continue
            match = _LABEL.match(line)
            if match:
                name = match.group(1)
                if name in self.label_lines or name in pending:
                    raise PvmError(f"line {number}: label {name!r} defined twice")
                pending.append(name)
                self.label_lines[name] = len(self.lines)
                continue
            mnemonic, _, rest = line.partition(" ")
            opcode = BY_NAME.get(mnemonic)
            if opcode is None:
                raise PvmError(f"line {number}: unknown instruction {mnemonic!r}")
            operands = tuple(part.strip() for part in rest.split(",")) if rest.strip() else ()
            expected = OPERANDS[opcode.kind]
            if len(operands) != len(expected):
                raise PvmError(
                    f"line {number}: {mnemonic} takes {len(expected)} operands "
                    f"({', '.join(expected) or 'none'}), got {len(operands)}"
                )
            self.lines.append(_Line(number, opcode, operands))
            pending.clear()

    def _register(self, line: _Line, text: str) -> int:
        match = re.fullmatch(r"r(\d+)", text)
        if not match or int(match.group(1)) > 12:
            raise PvmError(f"line {line.number}: expected a register r0..r12, got {text!r}")
        return int(match.group(1))

    def _immediate(self, line: _Line, text: str) -> int:
        if text.startswith("&"):
            name = text[1:]
            if name not in self.table_names:
                raise PvmError(f"line {line.number}: {name!r} is not in the jump table")
            return 2 * (self.table_names.index(name) + 1)
        try:
            return int(text, 0) & ((1 << 64) - 1)
        except ValueError:
            raise PvmError(f"line {line.number}: expected an integer, got {text!r}") from None

    def _target(self, line: _Line, text: str) -> int:
        if text.startswith("@"):
            try:
                return int(text[1:], 0)
            except ValueError:
                raise PvmError(f"line {line.number}: bad address {text!r}") from None
        if text not in self.labels:
            raise PvmError(f"line {line.number}: unknown label {text!r}")
        return self.labels[text]

    def _table_entry(self, text: str) -> int:
        if text.startswith("@") and text[1:].isdigit():
            return int(text[1:])
        if text not in self.labels:
            raise PvmError(f"jump table entry {text!r} is neither a label nor @<pc>")
        return self.labels[text]

    def _encode(self, line: _Line, pc: int) -> bytes:
        """The octets of one instruction at `pc` (targets must be resolved)."""
        op, kind = line.opcode, line.opcode.kind
        types = OPERANDS[kind]
        values = []
        for kind_name, text in zip(types, line.operands, strict=True):
            if kind_name == "reg":
                values.append(self._register(line, text))
            elif kind_name == "imm":
                values.append(self._immediate(line, text))
            else:
                values.append(self._target(line, text) if self.resolved else 0)
        out = bytearray([op.number])
        if kind is ArgKind.IMM:
            out += _imm_bytes(values[0])
        elif kind is ArgKind.REG_EXT_IMM:
            out += bytes([values[0]]) + values[1].to_bytes(8, "little")
        elif kind is ArgKind.IMM_IMM:
            x = _imm_bytes(values[0])
            out += bytes([len(x)]) + x + _imm_bytes(values[1])
        elif kind is ArgKind.OFFSET:
            out += _offset(values[0] - pc)
        elif kind is ArgKind.REG_IMM:
            out += bytes([values[0]]) + _imm_bytes(values[1])
        elif kind in (ArgKind.REG_IMM_IMM, ArgKind.REG_IMM_OFFSET):
            x = _imm_bytes(values[1])
            tail = _imm_bytes(values[2]) if kind is ArgKind.REG_IMM_IMM else _offset(
                values[2] - pc
            )
            out += bytes([values[0] | len(x) << 4]) + x + tail
        elif kind is ArgKind.REG_REG:
            out += bytes([values[0] | values[1] << 4])
        elif kind is ArgKind.REG_REG_IMM:
            out += bytes([values[0] | values[1] << 4]) + _imm_bytes(values[2])
        elif kind is ArgKind.REG_REG_OFFSET:
            out += bytes([values[0] | values[1] << 4]) + _offset(values[2] - pc)
        elif kind is ArgKind.REG_REG_IMM_IMM:
            x = _imm_bytes(values[2])
            out += bytes([values[0] | values[1] << 4, len(x)]) + x + _imm_bytes(values[3])
        elif kind is ArgKind.REG_REG_REG:
            rd, ra, rb = values
            out += bytes([ra | rb << 4, rd])
        return bytes(out)

    def assemble(self) -> ProgramCode:
        # pass 1: sizes do not depend on label values (offsets are fixed-width)
        pcs, pc = [], 0
        for line in self.lines:
            pcs.append(pc)
            pc += len(self._encode(line, pc))
        end = pc
        self.labels = {
            name: (pcs[index] if index < len(pcs) else end)
            for name, index in self.label_lines.items()
        }
        self.resolved = True
        table = tuple(self._table_entry(name) for name in self.table_names)
        code = bytearray()
        bitmask: list[bool] = []
        for line, pc in zip(self.lines, pcs, strict=True):
            encoded = self._encode(line, pc)
            code += encoded
            bitmask += [True] + [False] * (len(encoded) - 1)
        return ProgramCode(bytes(code), tuple(bitmask), table)


def _offset(delta: int) -> bytes:
    if not -(1 << 31) <= delta < 1 << 31:
        raise PvmError(f"branch offset {delta} does not fit in 32 signed bits")
    return (delta & 0xFFFFFFFF).to_bytes(4, "little")


def assemble_code(text: str) -> ProgramCode:
    """Assemble `text` into (c, k, j)."""
    return _Assembly(text).assemble()


def assemble(text: str) -> bytes:
    """Assemble `text` into a program blob (A.2)."""
    return assemble_code(text).encode()
