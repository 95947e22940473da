"""A disassembler for debugging: program -> assembly text the assembler accepts.

Every instruction the bitmask marks is listed with its pc and raw octets in a comment;
static targets and jump-table entries that are instruction starts get labels `L<pc>`,
other targets are written `@<pc>`.
"""

from __future__ import annotations

from jamcore.pvm.instructions import ArgKind
from jamcore.pvm.program import Instruction, Program

_TARGET_KINDS = (ArgKind.OFFSET, ArgKind.REG_IMM_OFFSET, ArgKind.REG_REG_OFFSET)


def _signed(value: int) -> str:
    return str(value - (1 << 64) if value >> 63 else value)


def instruction_starts(program: Program) -> list[int]:
    """The pc of every octet the bitmask marks as an opcode."""
    return [pc for pc, is_opcode in enumerate(program.bitmask) if is_opcode]


def operands(ins: Instruction, name_of: dict[int, str]) -> list[str]:
    """The operands of `ins` in assembly order."""
    kind, args = ins.opcode.kind, ins.args

    def target(pc: int) -> str:
        return name_of.get(pc, f"@{pc}")

    if kind is ArgKind.REG_EXT_IMM:
        return [f"r{args[0]}", str(args[1])]
    if kind is ArgKind.REG_REG_REG:
        return [f"r{args[2]}", f"r{args[0]}", f"r{args[1]}"]
    if kind in (ArgKind.REG_REG, ArgKind.REG_REG_IMM, ArgKind.REG_REG_IMM_IMM,
                ArgKind.REG_REG_OFFSET):
        regs = 2
    elif kind in (ArgKind.REG_IMM, ArgKind.REG_IMM_IMM, ArgKind.REG_IMM_OFFSET):
        regs = 1
    else:
        regs = 0
    out = [f"r{a}" for a in args[:regs]]
    rest = list(args[regs:])
    if kind in _TARGET_KINDS:
        out += [_signed(v) for v in rest[:-1]] + [target(rest[-1])]
    else:
        out += [_signed(v) for v in rest]
    return out


def disassemble(program: Program) -> str:
    """Assembly text for `program`, one instruction per line."""
    starts = instruction_starts(program)
    start_set = set(starts)
    targets = {pc for pc in program.jump_table if pc in start_set}
    for pc in starts:
        ins = program.instruction(pc)
        if ins.opcode.kind in _TARGET_KINDS and ins.args[-1] in start_set:
            targets.add(ins.args[-1])
    name_of = {pc: f"L{pc}" for pc in sorted(targets)}
    lines = []
    for pc in starts:
        if pc in name_of:
            lines.append(f"{name_of[pc]}:")
        ins = program.instruction(pc)
        raw = program.code[pc : ins.next_pc].hex(" ")
        text = f"    {ins.name} {', '.join(operands(ins, name_of))}".rstrip()
        lines.append(f"{text:<44}; {pc}: {raw}")
    if program.jump_table:
        entries = [name_of.get(pc, f"@{pc}") for pc in program.jump_table]
        lines.append(f".jump_table {', '.join(entries)}")
    return "\n".join(lines) + "\n"
