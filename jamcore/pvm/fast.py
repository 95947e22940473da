"""The fast path: Ψ (A.1) with the hot basic blocks of a program translated into Python.

Execution is tiered and lazy, so a program pays only for the code it runs:

- A basic block seen for the first time runs in the reference semantics
  (`jamcore.pvm.interpreter.HANDLERS`, one instruction at a time) and is counted.
- Once the interpreted work since the last translation exceeds a few times the number of
  executed, untranslated blocks (a ski-rental rule: translating costs about as much as
  interpreting a block a few dozen times), all of them are translated together into one
  *unit*: a single Python function holding the registers in locals, whose `while` loop
  moves between its blocks on a local `pc` through a binary decision tree weighted by the
  blocks' execution counts. A successor with exactly one static predecessor is placed
  inline after it, so fallthroughs, branches and jumps into it cost nothing; dynamic
  jumps (returns, jump tables) into the unit stay in it.
- Leaving a unit (a host call, halt, panic, fault, out of gas, or a block of another unit
  or not yet translated) goes back to the small loop in `run`.

Translation follows the interpreter's instruction semantics: common operations are inlined
with 64-bit wrap-around folded into cheap comparisons, in-page memory accesses are inlined
with `struct` on the pages of `Memory.readable`/`writable`, everything else calls
`jamcore.pvm.semantics` or `Memory`. Gas is charged per basic block on entry, exactly as the
interpreter does, and every exit leaves the machine state the interpreter would.

The translated form lives on the `Program` and, by program contents, across `Program`
objects, so a service's code is translated once however many blocks run it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from itertools import compress
from typing import Any

from jamcore.pvm import semantics as sem
from jamcore.pvm.blob import HALT_ADDRESS
from jamcore.pvm.exits import (
    HALT,
    OUT_OF_GAS,
    PANIC,
    Exit,
    ExitStatus,
    MemoryFault,
    MemoryPanic,
)
from jamcore.pvm.instructions import TERMINATORS, ArgKind
from jamcore.pvm.interpreter import HANDLERS
from jamcore.pvm.machine import MachineState
from jamcore.pvm.memory import Memory
from jamcore.pvm.program import Instruction, Program

__all__ = ["CompiledProgram", "compile_program", "regions", "run"]

UnitFn = Callable[[list[int], int, Memory, int], tuple[int, int, int, int]]
"""f(registers, gas, memory, pc) -> (kind, pc, gas, value); kind 0 continues at pc."""

TRANSLATE_FACTOR = 24
"""Interpreted block entries per untranslated executed block before a unit is built."""
_CACHE_LIMIT = 64
_cache: dict[tuple[bytes, tuple[bool, ...], tuple[int, ...]], CompiledProgram] = {}
_EXITS = (None, HALT, PANIC, OUT_OF_GAS)
"""Unit exit kinds 1-3; 4 is a page fault and 5 a host call (value attached)."""


M64 = "0xFFFFFFFFFFFFFFFF"
M32 = "0xFFFFFFFF"
SIGN = 1 << 63
TWO64 = 1 << 64
K_CONTINUE, K_HALT, K_PANIC, K_OOG, K_FAULT, K_HOST = range(6)
"""How a unit ended: continue at `pc`, or one of the exit reasons."""
_FORMATS = ((1, "B"), (2, "H"), (4, "I"), (8, "Q"))
_INLINE_DEPTH = 10
"""Nesting limit for successors placed inline (Python limits indentation to 100)."""
_TREE_DEPTH = 12
"""Below this depth the dispatch tree splits evenly instead of by weight."""
_BRANCH_KINDS = (ArgKind.REG_IMM_OFFSET, ArgKind.REG_REG_OFFSET)


def _sx32(dest: str, expr: str) -> list[str]:
    """dest = X_4(expr mod 2^32), without a 64-bit mask on the common path."""
    return [
        f"{dest} = ({expr}) & {M32}",
        f"if {dest} > 0x7FFFFFFF: {dest} += 0xFFFFFFFF00000000",
    ]


def _wrap_add(dest: str, expr: str) -> list[str]:
    """dest = expr mod 2^64 for a sum of two naturals below 2^64."""
    return [f"{dest} = {expr}", f"if {dest} > {M64}: {dest} -= {TWO64}"]


def _add_imm(dest: str, b: str, x: int) -> list[str]:
    """dest = (b + x) mod 2^64 with the immediate folded in: small subtractions for
    negative immediates, so intermediate values stay small."""
    if x == 0:
        return [f"{dest} = {b}"]
    if x >> 63:
        n = TWO64 - x
        return [f"{dest} = {b} - {n} if {b} >= {n} else {b} + {x}"]
    return [f"{dest} = {b} + {x} if {b} < {TWO64 - x} else {b} - {TWO64 - x}"]


def _three(op: int, a: str, b: str, d: str) -> list[str]:
    """Statements computing a three-register instruction into `d`."""
    inline = {
        190: lambda: _sx32(d, f"{a} + {b}"),
        191: lambda: _sx32(d, f"{a} - {b}"),
        192: lambda: _sx32(d, f"{a} * {b}"),
        200: lambda: _wrap_add(d, f"{a} + {b}"),
        201: lambda: [f"{d} = {a} - {b}", f"if {d} < 0: {d} += {TWO64}"],
        202: lambda: [f"{d} = ({a} * {b}) & {M64}"],
        207: lambda: [f"{d} = ({a} << ({b} & 63)) & {M64}"],
        208: lambda: [f"{d} = {a} >> ({b} & 63)"],
        210: lambda: [f"{d} = {a} & {b}"],
        211: lambda: [f"{d} = {a} ^ {b}"],
        212: lambda: [f"{d} = {a} | {b}"],
        216: lambda: [f"{d} = 1 if {a} < {b} else 0"],
        217: lambda: [f"{d} = 1 if ({a} ^ {SIGN}) < ({b} ^ {SIGN}) else 0"],
        218: lambda: [f"if {b} == 0: {d} = {a}"],
        219: lambda: [f"if {b} != 0: {d} = {a}"],
        228: lambda: [f"{d} = {a} if {a} > {b} else {b}"],
        230: lambda: [f"{d} = {a} if {a} < {b} else {b}"],
    }.get(op)
    return inline() if inline else [f"{d} = T{op}({a}, {b}, {d})"]


def _with_imm(op: int, a: str, b: str, x: int) -> list[str]:
    """Statements computing a two-register-and-immediate instruction into `a`."""
    inline = {
        131: lambda: _sx32(a, f"{b} + {x & 0xFFFFFFFF}"),
        132: lambda: [f"{a} = {b} & {x}"],
        133: lambda: [f"{a} = {b} ^ {x}"],
        134: lambda: [f"{a} = {b} | {x}"],
        135: lambda: _sx32(a, f"{b} * {x & 0xFFFFFFFF}"),
        136: lambda: [f"{a} = 1 if {b} < {x} else 0"],
        137: lambda: [f"{a} = 1 if ({b} ^ {SIGN}) < {x ^ SIGN} else 0"],
        138: lambda: _sx32(a, f"{b} << {x & 31}"),
        139: lambda: _sx32(a, f"({b} & {M32}) >> {x & 31}"),
        142: lambda: [f"{a} = 1 if {b} > {x} else 0"],
        143: lambda: [f"{a} = 1 if ({b} ^ {SIGN}) > {x ^ SIGN} else 0"],
        147: lambda: [f"if {b} == 0: {a} = {x}"],
        148: lambda: [f"if {b} != 0: {a} = {x}"],
        149: lambda: _add_imm(a, b, x),
        150: lambda: [f"{a} = ({b} * {x}) & {M64}"],
        151: lambda: [f"{a} = ({b} << {x & 63}) & {M64}"],
        152: lambda: [f"{a} = {b} >> {x & 63}"],
        154: lambda: [f"{a} = {x} - {b}", f"if {a} < 0: {a} += {TWO64}"],
    }.get(op)
    return inline() if inline else [f"{a} = W{op}({a}, {b}, {x})"]


_CONDITIONS = {81: "==", 82: "!=", 83: "<", 84: "<=", 85: ">=", 86: ">", 170: "==",
               171: "!=", 172: "<", 174: ">="}
_SIGNED_CONDITIONS = {87: "<", 88: "<=", 89: ">=", 90: ">", 173: "<", 175: ">="}


def _condition(op: int, a: str, b: str | int) -> str:
    if op in _CONDITIONS:
        return f"{a} {_CONDITIONS[op]} {b}"
    flipped = b ^ SIGN if isinstance(b, int) else f"({b} ^ {SIGN})"
    return f"({a} ^ {SIGN}) {_SIGNED_CONDITIONS[op]} {flipped}"



class _Stop(Exception):
    """Internal: a slow-path memory access inside a unit ended the run."""

    def __init__(self, kind: int, pc: int, value: int) -> None:
        super().__init__(kind, pc, value)
        self.kind, self.pc, self.value = kind, pc, value


def _load(memory: Memory, address: int, width: int, pc: int) -> int:
    """Memory.load for accesses the inline path does not cover; a fault stops the unit."""
    try:
        return memory.load(address, width)
    except MemoryFault as fault:
        raise _Stop(K_FAULT, pc, fault.address) from None
    except MemoryPanic:
        raise _Stop(K_PANIC, pc, 0) from None


def _store(memory: Memory, address: int, width: int, value: int, pc: int) -> None:
    """Memory.store for accesses the inline path does not cover; a fault stops the unit."""
    try:
        memory.store(address, width, value)
    except MemoryFault as fault:
        raise _Stop(K_FAULT, pc, fault.address) from None
    except MemoryPanic:
        raise _Stop(K_PANIC, pc, 0) from None


def _namespace(program: Program) -> dict[str, Any]:
    """The globals of a program's generated units."""
    names: dict[str, Any] = {
        "JT": program.jump_targets,
        **{f"UNPACK{w}": struct.Struct(f"<{c}").unpack_from for w, c in _FORMATS},
        **{f"PACK{w}": struct.Struct(f"<{c}").pack_into for w, c in _FORMATS},
        "LD": _load,
        "ST": _store,
        "_Stop": _Stop,
    }
    names.update({f"T{op}": fn for op, fn in sem.THREE_REGISTER.items()})
    names.update({f"W{op}": fn for op, fn in sem.WITH_IMMEDIATE.items()})
    names.update({f"U{op}": fn for op, fn in sem.UNARY.items()})
    return names


def _successors(ins: Instruction) -> list[int]:
    """The static control-flow targets of a terminator (A.5.4-A.5.11)."""
    number, kind = ins.opcode.number, ins.opcode.kind
    if number == 1:
        return [ins.next_pc]
    if number in (40, 80):
        return [ins.args[-1]]
    if kind in _BRANCH_KINDS:
        return [ins.args[-1], ins.next_pc]
    return []


def static_predecessors(program: Program) -> dict[int, int]:
    """Block start -> the number of static control-flow edges into it."""
    code = program.code
    counts: dict[int, int] = {}
    for n in compress(range(len(code)), program.bitmask):
        if code[n] in TERMINATORS:
            for target in _successors(program.instruction(n)):
                counts[target] = counts.get(target, 0) + 1
    return counts


class _UnitWriter:
    """Generates the source of one unit: a set of blocks sharing one function."""

    def __init__(
        self,
        program: Program,
        blocks: set[int],
        predecessors: dict[int, int],
        starts: set[int],
        weights: dict[int, int],
        name: str,
    ) -> None:
        self.program = program
        self.blocks = blocks
        self.name = name
        self.heads_name = f"H_{name}"
        self.weights = weights
        dynamic = set(program.jump_targets.values())
        self.inlinable = {
            pc
            for pc in blocks
            if predecessors.get(pc, 0) == 1 and pc not in dynamic and pc not in starts
        }
        self.heads: set[int] = set()
        self.emitted: set[int] = set()
        self.bodies: dict[int, list[str]] = {}
        self.work: list[int] = []

    def source(self) -> str:
        """The complete function definition."""
        for pc in sorted(self.blocks - self.inlinable):
            self._add_head(pc)
        while True:
            while self.work:
                pc = self.work.pop()
                self.bodies[pc] = self._block(pc, 0)
            left = sorted(self.blocks - self.emitted)
            if not left:
                break
            self._add_head(left[0])
        registers = ", ".join(f"r{i}" for i in range(13))
        lines = [
            f"def {self.name}(r, g, m, pc):",
            f"    {registers} = r",
            "    RD = m.readable; WR = m.writable",
            "    try:",
            "        while True:",
        ]
        lines += self._tree(sorted(self.heads), "            ", 0)
        lines += [
            "    except _Stop as stop:",
            "        return (stop.kind, stop.pc, g, stop.value)",
            "    finally:",
            f"        r[:] = ({registers})",
        ]
        return "\n".join(lines) + "\n"

    def _add_head(self, pc: int) -> None:
        if pc not in self.heads:
            self.heads.add(pc)
            self.emitted.add(pc)
            self.work.append(pc)

    def _tree(self, heads: list[int], indent: str, depth: int) -> list[str]:
        """A binary decision tree on `pc` over `heads`, split at the weighted median."""
        if len(heads) == 1:
            return [indent + line for line in self.bodies[heads[0]]]
        split = len(heads) // 2
        if depth < _TREE_DEPTH:
            weights = [self.weights.get(pc, 0) + 1 for pc in heads]
            total, running, best = sum(weights), 0, None
            for k in range(1, len(heads)):
                running += weights[k - 1]
                score = abs(2 * running - total)
                if best is None or score < best:
                    best, split = score, k
        return (
            [f"{indent}if pc < {heads[split]}:"]
            + self._tree(heads[:split], indent + " ", depth + 1)
            + [f"{indent}else:"]
            + self._tree(heads[split:], indent + " ", depth + 1)
        )

    # -- one block ----------------------------------------------------------------------------

    def _block(self, pc: int, depth: int) -> list[str]:
        """The statements of the block at `pc`: charge its gas, run it, transfer."""
        body = self.program.block(pc)
        cost = len(body)
        lines = [f"if g < {cost}: return ({K_OOG}, {pc}, g, 0)", f"g -= {cost}"]
        index, end = 0, len(body) - 1
        while index < end:
            ins = body[index]
            if ins.opcode.number == 10:  # ecalli: the rest runs after the host call
                lines.append(f"return ({K_HOST}, {ins.pc}, g, {ins.args[0]})")
                return lines
            group = _same_page_group(body, index, end)
            if len(group) > 1:
                _group_lines(body[index : index + len(group)], group, lines)
                index += len(group)
            else:
                _instruction(ins, lines)
                index += 1
        self._terminator(body[-1], lines, "", depth)
        return lines

    def _transfer(self, lines: list[str], indent: str, target: int, depth: int) -> None:
        """Continue at the block starting at `target`."""
        if target in self.heads:
            lines.append(f"{indent}pc = {target}; continue")
        elif target in self.blocks:
            if target in self.inlinable and target not in self.emitted and depth < _INLINE_DEPTH:
                self.emitted.add(target)
                lines += [indent + line for line in self._block(target, depth + 1)]
            else:
                self._add_head(target)
                lines.append(f"{indent}pc = {target}; continue")
        else:
            lines.append(f"{indent}return ({K_CONTINUE}, {target}, g, 0)")

    def _goto(self, lines: list[str], indent: str, ins: Instruction, target: int, depth: int
              ) -> None:
        """A static jump: a basic-block start, or panic (A.17)."""
        if target in self.program.basic_blocks:
            self._transfer(lines, indent, target, depth)
        else:
            lines.append(f"{indent}return ({K_PANIC}, {ins.pc}, g, 0)")

    def _djump(self, lines: list[str], indent: str, ins: Instruction, address: str) -> None:
        """djump(a) (A.18): halt, a jump-table target (in this unit or not), or panic."""
        lines += [
            f"{indent}a = {address}",
            f"{indent}if a == {HALT_ADDRESS}: return ({K_HALT}, {ins.pc}, g, 0)",
            f"{indent}t = JT.get(a)",
            f"{indent}if t is None: return ({K_PANIC}, {ins.pc}, g, 0)",
            f"{indent}if t in {self.heads_name}: pc = t; continue",
            f"{indent}return ({K_CONTINUE}, t, g, 0)",
        ]

    def _terminator(self, ins: Instruction, lines: list[str], indent: str, depth: int) -> None:
        op, args, kind = ins.opcode.number, ins.args, ins.opcode.kind
        if op == 0:
            lines.append(f"{indent}return ({K_PANIC}, {ins.pc}, g, 0)")
        elif op == 1:
            self._transfer(lines, indent, ins.next_pc, depth)
        elif op == 40:
            self._goto(lines, indent, ins, args[0], depth)
        elif op == 50:
            self._djump(lines, indent, ins, f"(r{args[0]} + {args[1]}) & {M32}")
        elif op == 80:
            lines.append(f"{indent}r{args[0]} = {args[1]}")
            self._goto(lines, indent, ins, args[2], depth)
        elif op == 180:
            lines.append(f"{indent}b = (r{args[1]} + {args[3]}) & {M32}")
            lines.append(f"{indent}r{args[0]} = {args[2]}")
            self._djump(lines, indent, ins, "b")
        else:
            other = args[1] if kind is ArgKind.REG_IMM_OFFSET else f"r{args[1]}"
            lines.append(f"{indent}if {_condition(op, f'r{args[0]}', other)}:")
            self._goto(lines, indent + " ", ins, args[2], depth + 1)
            self._transfer(lines, indent, ins.next_pc, depth)


def _load_lines(pc: int, address: int | str, width: int, is_signed: bool, dest: str
                ) -> list[str]:
    """dest = the loaded value: in-page reads inline, others through Memory.load."""
    slow = f"LD(m, a, {width}, {pc})"
    if isinstance(address, int) and (address & 4095) <= 4096 - width:
        lines = [f"a = {address}; p = RD.get({address >> 12})",
                 f"{dest} = UNPACK{width}(p, {address & 4095})[0] if p is not None else {slow}"]
    else:
        lines = [f"a = {address}; p = RD.get(a >> 12); o = a & 4095",
                 f"{dest} = UNPACK{width}(p, o)[0] if p is not None and o <= {4096 - width} "
                 f"else {slow}"]
    if is_signed:
        top = 1 << (8 * width - 1)
        lines.append(f"if {dest} >= {top}: {dest} += {(1 << 64) - 2 * top}")
    return lines


def _store_lines(pc: int, address: int | str, width: int, value: str) -> list[str]:
    """Store `value` (already reduced to the width): in-page writes inline."""
    return [
        f"a = {address}; p = WR.get(a >> 12); o = a & 4095",
        f"if p is not None and o <= {4096 - width}: PACK{width}(p, o, {value})",
        f"else: ST(m, a, {width}, {value}, {pc})",
    ]


def _indirect_access(ins: Instruction) -> tuple[int, int, int, bool] | None:
    """(base register, signed 32-bit offset, width, is a store) of a register-relative
    load or store, else None."""
    op, args = ins.opcode.number, ins.args
    if op in sem.LOAD_WIDTH and len(args) == 3:
        base, offset, width, store = args[1], args[2], sem.LOAD_WIDTH[op][0], False
    elif op in sem.STORE_WIDTH and ins.opcode.kind is ArgKind.REG_REG_IMM:
        base, offset, width, store = args[1], args[2], sem.STORE_WIDTH[op], True
    elif op in sem.STORE_WIDTH and ins.opcode.kind is ArgKind.REG_IMM_IMM:
        base, offset, width, store = args[0], args[1], sem.STORE_WIDTH[op], True
    else:
        return None
    offset &= 0xFFFFFFFF
    return base, offset - (1 << 32) if offset >> 31 else offset, width, store


def _same_page_group(body: list[Instruction], start: int, end: int
                     ) -> list[tuple[int, int, int, bool]]:
    """The consecutive accesses from `start` relative to one unchanged base register
    spanning at most a page (a load into the base ends the group)."""
    group: list[tuple[int, int, int, bool]] = []
    for ins in body[start:end]:
        access = _indirect_access(ins)
        if access is None or (group and access[0] != group[0][0]):
            break
        low = min(a[1] for a in [*group, access])
        high = max(a[1] + a[2] for a in [*group, access])
        if high - low > 4096:
            break
        group.append(access)
        if not access[3] and ins.args[0] == access[0]:
            break
    return group


def _group_lines(
    body: list[Instruction], group: list[tuple[int, int, int, bool]], lines: list[str]
) -> None:
    """Accesses that share a page when the first one's page is mapped: one page lookup,
    then direct `struct` calls; otherwise each access on its own."""
    base = group[0][0]
    low = min(offset for _, offset, _, _ in group)
    span = max(offset + width for _, offset, width, _ in group) - low
    pages = "WR" if any(store for *_, store in group) else "RD"
    lines += [
        f"a = (r{base} + {low}) & {M32}; o = a & 4095; p = {pages}.get(a >> 12)",
        f"if p is not None and o <= {4096 - span}:",
    ]
    for ins, (_, offset, width, store) in zip(body, group, strict=True):
        at = f"o + {offset - low}" if offset != low else "o"
        if not store:
            dest = f"r{ins.args[0]}"
            lines.append(f" {dest} = UNPACK{width}(p, {at})[0]")
            if sem.LOAD_WIDTH[ins.opcode.number][1]:
                top = 1 << (8 * width - 1)
                lines.append(f" if {dest} >= {top}: {dest} += {(1 << 64) - 2 * top}")
            continue
        mask = (1 << 8 * width) - 1
        if ins.opcode.kind is ArgKind.REG_IMM_IMM:
            value = str(ins.args[2] & mask)
        else:
            value = f"r{ins.args[0]}" + (f" & {mask}" if width < 8 else "")
        lines.append(f" PACK{width}(p, {at}, {value})")
    lines.append("else:")
    for ins in body:
        generic: list[str] = []
        _instruction(ins, generic)
        lines += [" " + line for line in generic]


def _instruction(ins: Instruction, lines: list[str]) -> None:
    """Append the statements of one non-terminating instruction (not ecalli)."""
    op, args, kind = ins.opcode.number, ins.args, ins.opcode.kind
    if op in (20, 51):
        lines.append(f"r{args[0]} = {args[1]}")
    elif op in sem.LOAD_WIDTH:
        width, is_signed = sem.LOAD_WIDTH[op]
        address: int | str
        if len(args) == 2:
            address = args[1] & 0xFFFFFFFF
        else:
            address = f"(r{args[1]} + {args[2]}) & {M32}"
        lines += _load_lines(ins.pc, address, width, is_signed, f"r{args[0]}")
    elif op in sem.STORE_WIDTH:
        width = sem.STORE_WIDTH[op]
        mask = (1 << 8 * width) - 1
        if kind is ArgKind.IMM_IMM:
            address, value = args[0] & 0xFFFFFFFF, str(args[1] & mask)
        elif kind is ArgKind.REG_IMM:
            address, value = args[1] & 0xFFFFFFFF, f"r{args[0]}"
        elif kind is ArgKind.REG_IMM_IMM:
            address, value = f"(r{args[0]} + {args[1]}) & {M32}", str(args[2] & mask)
        else:
            address, value = f"(r{args[1]} + {args[2]}) & {M32}", f"r{args[0]}"
        if value.startswith("r") and width < 8:
            value = f"{value} & {mask}"
        lines += _store_lines(ins.pc, address, width, value)
    elif op == 101:
        lines.append(f"r{args[0]} = m.sbrk(r{args[1]})")
    elif kind is ArgKind.REG_REG:
        value = f"r{args[1]}" if op == 100 else f"U{op}(r{args[1]})"
        lines.append(f"r{args[0]} = {value}")
    elif kind is ArgKind.REG_REG_IMM:
        lines += _with_imm(op, f"r{args[0]}", f"r{args[1]}", args[2])
    else:
        lines += _three(op, f"r{args[0]}", f"r{args[1]}", f"r{args[2]}")


def regions(program: Program) -> list[list[int]]:
    """The strongly connected components of the static control-flow graph over basic
    blocks that contain more than one block (Tarjan's algorithm, iterative)."""
    blocks = program.basic_blocks
    successors = {
        pc: [t for t in _successors(program.block(pc)[-1]) if t in blocks] for pc in blocks
    }
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    stack: list[int] = []
    on_stack: set[int] = set()
    components: list[list[int]] = []
    counter = 0
    for root in sorted(blocks):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            children = successors[node]
            if position < len(children):
                work.append((node, position + 1))
                child = children[position]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components



class CompiledProgram:
    """The translated units of one program, grown lazily as blocks are executed.

    `eager=True` translates every basic block at once into a single unit (for tests and
    the translation benchmark)."""

    def __init__(self, program: Program, *, eager: bool = False) -> None:
        self.program = program
        self.namespace: dict[str, Any] = _namespace(program)
        self.entries: dict[int, UnitFn] = {}
        """Block start -> the unit that can be entered there."""
        self.translated: set[int] = set()
        self.counts: dict[int, int] = {}
        self.pending: set[int] = set()
        self.starts: set[int] = set()
        self.work = 0
        self._decoded: dict[int, tuple[Any, Any, bool]] = {}
        self._predecessors: dict[int, int] | None = None
        self._units = 0
        if eager:
            self.translate(set(program.basic_blocks))

    # -- translation ------------------------------------------------------------------------

    def translate(self, blocks: set[int]) -> None:
        """Translate `blocks` (basic-block starts not yet translated) into one unit."""
        program = self.program
        if self._predecessors is None:
            self._predecessors = static_predecessors(program)
        blocks = {pc for pc in blocks if pc not in self.translated}
        if not blocks:
            return
        name = f"unit{self._units}"
        self._units += 1
        writer = _UnitWriter(
            program, blocks, self._predecessors, self.starts, self.counts, name
        )
        source = writer.source()
        exec(compile(source, f"<pvm {name}>", "exec"), self.namespace)
        function = self.namespace[name]
        self.namespace[writer.heads_name] = frozenset(writer.heads)
        for pc in writer.heads:
            self.entries[pc] = function
        self.translated |= blocks
        self.pending -= blocks

    # -- the interpreted tier ----------------------------------------------------------------

    def interpret(
        self, pc: int, gas: int, registers: list[int], memory: Memory, charge: bool
    ) -> tuple[Exit | None, int, int]:
        """Run one block from `pc` in the reference semantics (as `interpreter.run` does
        from a block entry): charge its gas if `charge`, execute up to its terminator.
        Returns (exit or None to continue, pc, gas)."""
        program = self.program
        if charge:
            count = self.counts.get(pc, 0)
            self.counts[pc] = count + 1
            if count == 0 and pc in program.basic_blocks and pc not in self.translated:
                self.pending.add(pc)
            self.work += 1
            if self.pending and self.work >= TRANSLATE_FACTOR * len(self.pending):
                self.work = 0
                self.translate(self.pending)
                if pc in self.entries:
                    return None, pc, gas
            cost = program.block_cost(pc)
            # Verify the block's gas can be paid on entry
            if gas < cost:
                return OUT_OF_GAS, pc, gas
            gas -= cost
        decoded = self._decoded
        while True:
            entry = decoded.get(pc)
            if entry is None:
                ins = program.instruction(pc)
                number = ins.opcode.number
                entry = decoded[pc] = (ins, HANDLERS[number], number in TERMINATORS)
            ins, handler, terminator = entry
            try:
                step = handler(program, ins, registers, memory)
            except MemoryFault as fault:
                return Exit(ExitStatus.PAGE_FAULT, fault.address), pc, gas
            except MemoryPanic:
                return PANIC, pc, gas
            if type(step) is Exit:
                return step, pc, gas
            if terminator:
                return None, step, gas
            pc = step


def compile_program(program: Program) -> CompiledProgram:
    """The (lazily translated) compiled form of `program`, shared by equal programs."""
    compiled = program.compiled
    if isinstance(compiled, CompiledProgram):
        return compiled
    key = (program.code, program.bitmask, program.jump_table)
    compiled = _cache.get(key)
    if compiled is None:
        compiled = CompiledProgram(program)
        if len(_cache) >= _CACHE_LIMIT:
            _cache.pop(next(iter(_cache)))
        _cache[key] = compiled
    program.compiled = compiled
    return compiled


def run(program: Program, state: MachineState, *, charge_entry: bool = True) -> Exit:
    """Ψ (A.1) on the fast path; same contract as `interpreter.run`."""
    compiled = compile_program(program)
    registers, memory = state.registers, state.memory
    pc, gas = state.pc, state.gas
    exit_: Exit | None = None
    if charge_entry:
        compiled.starts.add(pc)
    else:  # resume inside a block whose gas is paid: finish it in the reference semantics
        exit_, pc, gas = compiled.interpret(pc, gas, registers, memory, False)
    entries = compiled.entries
    while exit_ is None:
        unit = entries.get(pc)
        if unit is None:
            exit_, pc, gas = compiled.interpret(pc, gas, registers, memory, True)
            continue
        kind, pc, gas, value = unit(registers, gas, memory, pc)
        if kind:
            if kind < 4:
                exit_ = _EXITS[kind]
            else:
                status = ExitStatus.PAGE_FAULT if kind == 4 else ExitStatus.HOST_CALL
                exit_ = Exit(status, value)
    state.pc, state.gas = pc, gas
    return exit_

