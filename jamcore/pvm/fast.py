"""The fast path: basic blocks translated once into Python functions with the registers
as locals, run by a small dispatch loop.

Translation follows the same instruction semantics as `jamcore.pvm.interpreter`: common
operations are inlined with 64-bit wrap-around folded into cheap comparisons (no mask on
the common path), in-page memory accesses are inlined with `struct`, the rest call
`jamcore.pvm.semantics`. Gas is charged per block exactly as the interpreter does.

- A block whose terminator jumps back to its own start becomes a `for` loop over the
  number of iterations the gas pays for, so a hot single-block loop runs without dispatch.
- Blocks forming a strongly connected region of the static control-flow graph (a loop
  with branches inside) share one function that moves between them on a local `pc`.
- Everything else is one function per block; the dispatcher goes from block to block.

All functions of a program are generated as one module source and `exec`-ed once; the
result is cached on the `Program` and, by program contents, across `Program` objects.
Registers are written back in a `finally` clause, so every exit leaves the machine state
exactly as the interpreter would.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
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
from jamcore.pvm.instructions import ArgKind
from jamcore.pvm.machine import MachineState
from jamcore.pvm.program import Instruction, Program

BlockFn = Callable[[list[int], int, Any, int], tuple[int, int, int, int]]
"""f(registers, gas, memory, pc) -> (kind, pc, gas, value)."""

CONTINUE, K_HALT, K_PANIC, K_OOG, K_FAULT, K_HOST = range(6)
"""How a generated function ended: continue at `pc`, or one of the exit reasons."""
M64 = "0xFFFFFFFFFFFFFFFF"
M32 = "0xFFFFFFFF"
SIGN = 1 << 63
TWO64 = 1 << 64
_FORMATS = ((1, "B"), (2, "H"), (4, "I"), (8, "Q"))
_CACHE_LIMIT = 64
_cache: dict[tuple[bytes, tuple[bool, ...], tuple[int, ...]], CompiledProgram] = {}


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


class _BlockWriter:
    """Generates the source of one entry function."""

    def __init__(
        self,
        program: Program,
        entry: int,
        charged: bool,
        name: str,
        region: frozenset[int] = frozenset(),
    ) -> None:
        self.program = program
        self.entry = entry
        self.charged = charged
        self.name = name
        self.region = region
        self.body = program.block(entry)
        self.cost = len(self.body)
        last = self.body[-1]
        self.loop = (
            not region
            and charged
            and entry in program.basic_blocks
            and self._targets(last) == entry
        )
        self.gas = f"g - it * {self.cost}" if self.loop else "g"
        self.lines: list[str] = []
        self.used: set[int] = set()
        self.written: set[int] = set()
        self.memory = False

    @staticmethod
    def _targets(ins: Instruction) -> int | None:
        kind = ins.opcode.kind
        if kind in (ArgKind.OFFSET, ArgKind.REG_IMM_OFFSET, ArgKind.REG_REG_OFFSET):
            return ins.args[-1]
        return None

    def reg(self, index: int, written: bool = False) -> str:
        self.used.add(index)
        if written:
            self.written.add(index)
        return f"r{index}"

    def exit(self, indent: str, kind: int, pc: int | str, value: int | str = 0) -> None:
        self.lines.append(f"{indent}return ({kind}, {pc}, {self.gas}, {value})")

    def goto(self, indent: str, ins: Instruction, target: int) -> None:
        """Transfer to a static target: loop, continue at a block, or panic (A.17)."""
        if target not in self.program.basic_blocks:
            self.exit(indent, K_PANIC, ins.pc)
        else:
            self.transfer(indent, target)

    def transfer(self, indent: str, target: int) -> None:
        """Continue at the block starting at `target`: inside this function when it is the
        loop start or in the region, else back to the dispatcher."""
        if target in self.region:
            self.lines.append(f"{indent}pc = {target}")
            self.lines.append(f"{indent}continue")
        elif self.loop and target == self.entry:
            self.lines.append(f"{indent}continue")
        else:
            self.exit(indent, CONTINUE, target)

    def djump(self, indent: str, ins: Instruction, address: str) -> None:
        self.lines.append(f"{indent}a = {address}")
        self.lines.append(f"{indent}if a == {HALT_ADDRESS}:")
        self.exit(indent + "    ", K_HALT, ins.pc)
        self.lines.append(f"{indent}t = JT.get(a)")
        self.lines.append(f"{indent}if t is None:")
        self.exit(indent + "    ", K_PANIC, ins.pc)
        self.exit(indent, CONTINUE, "t")

    def load(
        self, indent: str, pc: int, address: str, width: int, is_signed: bool, dest: str
    ) -> None:
        """dest = the loaded value: in-page reads inline, others through Memory.load."""
        self.memory = True
        sign_fix = ""
        if is_signed:
            top = 1 << (8 * width - 1)
            sign_fix = f"\n{indent}if {dest} >= {top}: {dest} += {(1 << 64) - 2 * top}"
        self.lines.append(
            f"{indent}ip = {pc}; a = {address}; o = a & 4095; p = RD.get(a >> 12)\n"
            f"{indent}{dest} = UNPACK{width}(p, o)[0] if p is not None and o <= {4096 - width} "
            f"else ld(a, {width}){sign_fix}"
        )

    def store(self, indent: str, pc: int, address: str, width: int, value: str) -> None:
        """Store `value` (already reduced to the width): in-page writes inline."""
        self.memory = True
        self.lines.append(
            f"{indent}ip = {pc}; a = {address}; o = a & 4095; p = WR.get(a >> 12)\n"
            f"{indent}if p is not None and o <= {4096 - width}: PACK{width}(p, o, {value})\n"
            f"{indent}else: st(a, {width}, {value})"
        )

    def instruction(self, ins: Instruction, indent: str) -> None:
        """Append the statements for one instruction."""
        op, args, emit = ins.opcode.number, ins.args, self.lines.append
        kind = ins.opcode.kind
        if op == 0:
            self.exit(indent, K_PANIC, ins.pc)
        elif op == 1:
            self.transfer(indent, ins.next_pc)
        elif op == 10:
            self.exit(indent, K_HOST, ins.pc, args[0])
        elif op in (20, 51):
            emit(f"{indent}{self.reg(args[0], True)} = {args[1]}")
        elif op in sem.LOAD_WIDTH:
            width, is_signed = sem.LOAD_WIDTH[op]
            if len(args) == 2:
                address = str(args[1] & 0xFFFFFFFF)
            else:
                address = f"({self.reg(args[1])} + {args[2]}) & {M32}"
            self.load(indent, ins.pc, address, width, is_signed, self.reg(args[0], True))
        elif op in sem.STORE_WIDTH:
            width = sem.STORE_WIDTH[op]
            mask = (1 << 8 * width) - 1
            if kind is ArgKind.IMM_IMM:
                address, value = str(args[0] & 0xFFFFFFFF), str(args[1] & mask)
            elif kind is ArgKind.REG_IMM:
                address, value = str(args[1] & 0xFFFFFFFF), self.reg(args[0])
            elif kind is ArgKind.REG_IMM_IMM:
                address = f"({self.reg(args[0])} + {args[1]}) & {M32}"
                value = str(args[2] & mask)
            else:
                address = f"({self.reg(args[1])} + {args[2]}) & {M32}"
                value = self.reg(args[0])
            if value.startswith("r") and width < 8:
                value = f"{value} & {mask}"
            self.store(indent, ins.pc, address, width, value)
        elif op == 40:
            self.goto(indent, ins, args[0])
        elif op == 50:
            self.djump(indent, ins, f"({self.reg(args[0])} + {args[1]}) & {M32}")
        elif op == 80:
            emit(f"{indent}{self.reg(args[0], True)} = {args[1]}")
            self.goto(indent, ins, args[2])
        elif kind is ArgKind.REG_IMM_OFFSET:
            emit(f"{indent}if {_condition(op, self.reg(args[0]), args[1])}:")
            self.goto(indent + "    ", ins, args[2])
            self.transfer(indent, ins.next_pc)
        elif op == 101:
            emit(f"{indent}{self.reg(args[0], True)} = m.sbrk({self.reg(args[1])})")
        elif kind is ArgKind.REG_REG:
            source = self.reg(args[1])
            value = source if op == 100 else f"U{op}({source})"
            emit(f"{indent}{self.reg(args[0], True)} = {value}")
        elif kind is ArgKind.REG_REG_IMM:
            a, b = self.reg(args[0], True), self.reg(args[1])
            self.lines += [indent + line for line in _with_imm(op, a, b, args[2])]
        elif kind is ArgKind.REG_REG_OFFSET:
            cond = _condition(op, self.reg(args[0]), self.reg(args[1]))
            emit(f"{indent}if {cond}:")
            self.goto(indent + "    ", ins, args[2])
            self.transfer(indent, ins.next_pc)
        elif op == 180:
            address = f"({self.reg(args[1])} + {args[3]}) & {M32}"
            emit(f"{indent}b = {address}")
            emit(f"{indent}{self.reg(args[0], True)} = {args[2]}")
            self.djump(indent, ins, "b")
        else:
            a, b, d = self.reg(args[0]), self.reg(args[1]), self.reg(args[2], True)
            self.lines += [indent + line for line in _three(op, a, b, d)]

    def region_lines(self, indent: str) -> list[str]:
        """This block as a case of a region function: charge its gas, run it."""
        self.lines = [
            f"{indent}if g < {self.cost}:",
            f"{indent}    return ({K_OOG}, {self.entry}, g, 0)",
            f"{indent}g -= {self.cost}",
        ]
        for ins in self.body:
            self.instruction(ins, indent)
        return self.lines

    def source(self) -> str:
        """The complete function definition."""
        indent = "            " if self.loop else "        "
        for ins in self.body:
            self.instruction(ins, indent)
        used, written = sorted(self.used), sorted(self.written)
        head = [f"def {self.name}(r, g, m, pc):"]
        if used:
            names = ", ".join(f"r{i}" for i in used)
            head.append(f"    {names}, = {', '.join(f'r[{i}]' for i in used)},")
        if self.memory:
            head.append("    ld = m.load; st = m.store; RD = m.readable; WR = m.writable")
        if self.loop:
            head.append("    it = 0")
        head.append("    try:")
        if self.loop:
            head.append(f"        n = g // {self.cost} if g > 0 else 0")
            head.append("        for it in range(1, n + 1):")
        elif self.charged:
            head += [f"        if g < {self.cost}:",
                     f"            return ({K_OOG}, {self.entry}, g, 0)",
                     f"        g -= {self.cost}"]
        tail: list[str] = []
        if self.loop:
            tail = ["        it = n", f"        return ({K_OOG}, {self.entry}, {self.gas}, 0)"]
        if self.memory:
            tail += ["    except MemoryFault as fault:",
                     f"        return ({K_FAULT}, ip, {self.gas}, fault.address)",
                     "    except MemoryPanic:",
                     f"        return ({K_PANIC}, ip, {self.gas}, 0)"]
        # the finally clause writes the registers back on every way out of the block
        tail += ["    finally:", "        " + ("; ".join(f"r[{i}] = r{i}" for i in written)
                                               or "pass")]
        return "\n".join(head + self.lines + tail) + "\n"


def _dispatch(writers: list[_BlockWriter], indent: str) -> list[str]:
    """A binary decision tree on `pc` selecting the writer's block."""
    if len(writers) <= 3:
        lines = []
        for i, writer in enumerate(writers):
            test = "if" if i == 0 else "elif" if i < len(writers) - 1 else "else"
            lines.append(f"{indent}{test} pc == {writer.entry}:" if test != "else" else
                         f"{indent}else:")
            lines += writer.region_lines(indent + "    ")
        return lines
    middle = len(writers) // 2
    return (
        [f"{indent}if pc < {writers[middle].entry}:"]
        + _dispatch(writers[:middle], indent + "    ")
        + [f"{indent}else:"]
        + _dispatch(writers[middle:], indent + "    ")
    )


def _region_source(program: Program, blocks: list[int], name: str) -> str:
    """One function running a strongly connected set of blocks, moving between them
    without returning to the dispatcher."""
    region = frozenset(blocks)
    writers = [_BlockWriter(program, pc, True, name, region) for pc in blocks]
    body = _dispatch(writers, "            ")
    used = sorted(set().union(*(w.used for w in writers)))
    written = sorted(set().union(*(w.written for w in writers)))
    memory = any(w.memory for w in writers)
    head = [f"def {name}(r, g, m, pc):"]
    if used:
        head.append(f"    {', '.join(f'r{i}' for i in used)}, = "
                    f"{', '.join(f'r[{i}]' for i in used)},")
    if memory:
        head.append("    ld = m.load; st = m.store; RD = m.readable; WR = m.writable; ip = 0")
    head += ["    try:", "        while True:"]
    tail = []
    if memory:
        tail += ["    except MemoryFault as fault:",
                 f"        return ({K_FAULT}, ip, g, fault.address)",
                 "    except MemoryPanic:",
                 f"        return ({K_PANIC}, ip, g, 0)"]
    tail += ["    finally:", "        " + ("; ".join(f"r[{i}] = r{i}" for i in written)
                                           or "pass")]
    return "\n".join(head + body + tail) + "\n"


def regions(program: Program) -> list[list[int]]:
    """The strongly connected components of the static control-flow graph over basic
    blocks that contain more than one block (Tarjan's algorithm, iterative)."""
    blocks = program.basic_blocks
    successors: dict[int, list[int]] = {}
    for pc in blocks:
        last = program.block(pc)[-1]
        number, kind = last.opcode.number, last.opcode.kind
        targets = []
        if number == 1 or kind in (ArgKind.REG_IMM_OFFSET, ArgKind.REG_REG_OFFSET):
            targets.append(last.next_pc)
        if kind in (ArgKind.OFFSET, ArgKind.REG_IMM_OFFSET, ArgKind.REG_REG_OFFSET):
            targets.append(last.args[-1])
        successors[pc] = [t for t in targets if t in blocks]
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


def _namespace(program: Program) -> dict[str, Any]:
    namespace: dict[str, Any] = {
        "JT": program.jump_targets,
        **{f"UNPACK{w}": struct.Struct(f"<{c}").unpack_from for w, c in _FORMATS},
        **{f"PACK{w}": struct.Struct(f"<{c}").pack_into for w, c in _FORMATS},
        "MemoryFault": MemoryFault,
        "MemoryPanic": MemoryPanic,
    }
    namespace.update({f"T{op}": fn for op, fn in sem.THREE_REGISTER.items()})
    namespace.update({f"W{op}": fn for op, fn in sem.WITH_IMMEDIATE.items()})
    namespace.update({f"U{op}": fn for op, fn in sem.UNARY.items()})
    return namespace


class CompiledProgram:
    """Python functions for every basic block of a program, plus lazily compiled entries
    for other entry points (a fresh start mid-block, or a resume after a host call)."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self.namespace = _namespace(program)
        function_of: dict[int, str] = {}
        sources = []
        for number, members in enumerate(regions(program)):
            sources.append(_region_source(program, members, f"region{number}"))
            function_of.update({pc: f"region{number}" for pc in members})
        for pc in sorted(program.basic_blocks - function_of.keys()):
            sources.append(_BlockWriter(program, pc, True, f"b{pc}").source())
            function_of[pc] = f"b{pc}"
        exec(compile("".join(sources), "<pvm blocks>", "exec"), self.namespace)
        self.charged: dict[int, BlockFn] = {
            pc: self.namespace[name] for pc, name in function_of.items()
        }
        self.uncharged: dict[int, BlockFn] = {}

    def entry(self, pc: int, *, charged: bool) -> BlockFn:
        """The function that runs from `pc`, compiling it on first use."""
        table = self.charged if charged else self.uncharged
        fn = table.get(pc)
        if fn is None:
            name = f"{'c' if charged else 'u'}{pc}"
            source = _BlockWriter(self.program, pc, charged, name).source()
            exec(compile(source, "<pvm entry>", "exec"), self.namespace)
            fn = table[pc] = self.namespace[name]
        return fn


def compile_program(program: Program) -> CompiledProgram:
    """The compiled form of `program`, built once and cached."""
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
    """Ψ (A.1) on the compiled program; same contract as `interpreter.run`."""
    compiled = compile_program(program)
    registers, memory = state.registers, state.memory
    pc, gas = state.pc, state.gas
    kind = CONTINUE
    value = 0
    if not charge_entry:
        kind, pc, gas, value = compiled.entry(pc, charged=False)(registers, gas, memory, pc)
    charged = compiled.charged
    while kind == CONTINUE:
        fn = charged.get(pc)
        if fn is None:
            fn = compiled.entry(pc, charged=True)
        kind, pc, gas, value = fn(registers, gas, memory, pc)
    state.pc, state.gas = pc, gas
    if kind == K_HALT:
        return HALT
    if kind == K_PANIC:
        return PANIC
    if kind == K_OOG:
        return OUT_OF_GAS
    if kind == K_FAULT:
        return Exit(ExitStatus.PAGE_FAULT, value)
    return Exit(ExitStatus.HOST_CALL, value)
