"""Hypothesis strategies for random PVM programs and machine states."""

from __future__ import annotations

from hypothesis import strategies as st

from jamcore.pvm.assembler import OPERANDS
from jamcore.pvm.blob import HALT_ADDRESS, ProgramCode
from jamcore.pvm.instructions import OPCODES, TERMINATORS, ArgKind
from jamcore.pvm.machine import MachineState
from jamcore.pvm.memory import Memory

RW_PAGE = 0x20000
RO_PAGE = 0x21000

BODY_OPCODES = sorted(op.name for op in OPCODES.values() if op.number not in TERMINATORS)
STATIC_TERMINATORS = sorted(
    op.name
    for op in OPCODES.values()
    if op.kind in (ArgKind.OFFSET, ArgKind.REG_IMM_OFFSET, ArgKind.REG_REG_OFFSET)
)

registers = st.integers(0, 12).map(lambda r: f"r{r}")
values = st.one_of(
    st.integers(-4, 4),
    st.sampled_from([RW_PAGE, RW_PAGE + 0xFFC, RO_PAGE, RO_PAGE + 0xFFE, 0x1000, 2**31 - 1,
                     -(2**31), 0x7F, 0x80, 0xFF, 0xFFFF, 0x10000, 31, 32, 63, 64]),
    st.integers(-(2**31), 2**31 - 1),
)
register_values = st.one_of(
    st.integers(0, 2**64 - 1),
    st.sampled_from([0, 1, 2**63, 2**64 - 1, 2**32 - 1, 2**31, HALT_ADDRESS, RW_PAGE,
                     RW_PAGE + 0xFF8, RO_PAGE + 0x10, 2**64 - 2**31]),
    st.integers(0, 64),
)


@st.composite
def instruction_text(draw: st.DrawFn, name: str, labels: list[str]) -> str:
    """One instruction with random operands of the right types."""
    kind = next(op.kind for op in OPCODES.values() if op.name == name)
    operands = []
    for operand in OPERANDS[kind]:
        if operand == "reg":
            operands.append(draw(registers))
        elif operand == "imm":
            if name == "load_imm_64":
                operands.append(str(draw(register_values)))
            elif labels and draw(st.integers(0, 5)) == 0:
                operands.append("&" + draw(st.sampled_from(labels)))
            else:
                operands.append(str(draw(values)))
        else:
            operands.append(draw(st.sampled_from(labels)) if labels else "@0")
    return f"{name} {', '.join(operands)}".strip()


@st.composite
def assembly_programs(draw: st.DrawFn) -> str:
    """A random program of labelled basic blocks, every block in the jump table."""
    count = draw(st.integers(1, 5))
    labels = [f"b{i}" for i in range(count)]
    lines = []
    for label in labels:
        lines.append(f"{label}:")
        for _ in range(draw(st.integers(0, 6))):
            lines.append(draw(instruction_text(draw(st.sampled_from(BODY_OPCODES)), labels)))
        terminator = draw(
            st.sampled_from(STATIC_TERMINATORS + ["fallthrough", "trap", "jump_ind",
                                                  "load_imm_jump_ind", "jump_ind_halt"])
        )
        if terminator == "jump_ind_halt":
            lines.append("load_imm_64 r12, 4294901760")
            lines.append("jump_ind r12, 0")
        else:
            lines.append(draw(instruction_text(terminator, labels)))
    lines.append(".jump_table " + ", ".join(labels))
    return "\n".join(lines)


@st.composite
def raw_programs(draw: st.DrawFn) -> ProgramCode:
    """Arbitrary code octets (mostly valid opcodes), bitmask and jump table."""
    length = draw(st.integers(0, 48))
    opcodes = st.one_of(st.sampled_from(sorted(OPCODES)), st.integers(0, 255))
    code = bytes(draw(st.one_of(opcodes, st.integers(0, 255))) for _ in range(length))
    bitmask = tuple(draw(st.lists(st.booleans(), min_size=length, max_size=length)))
    table = tuple(draw(st.lists(st.integers(0, length + 2), max_size=4)))
    return ProgramCode(code, bitmask, table)


@st.composite
def machine_states(draw: st.DrawFn) -> MachineState:
    """Random registers and gas, with one writable and one read-only page."""
    memory = Memory()
    memory.map(RW_PAGE, 4096, writable=True)
    memory.map(RO_PAGE, 4096, writable=False)
    memory.poke(RO_PAGE, draw(st.binary(min_size=16, max_size=16)))
    memory.heap_pointer = 0x40000
    regs = draw(st.lists(register_values, min_size=13, max_size=13))
    return MachineState(0, draw(st.one_of(st.integers(-3, 40), st.integers(0, 400))), regs, memory)
