"""Source generation for the fast path (`jamcore.pvm.fast`): the control-flow graph of a
program over its basic blocks (A.5.4-A.5.11) and the text of one translated *unit*.

A unit is a single Python function over a set of basic blocks: registers in locals, a
`while` loop moving between its blocks on a local `pc` through a binary decision tree
weighted by the blocks' execution counts. A successor with exactly one static predecessor
is placed inline after it; dynamic jumps into the unit stay in it; a block that branches
to its own start iterates in a local `while` loop without going through the tree. Gas is
charged per basic block on entry, as the interpreter does, and every exit returns
(kind, pc, gas, value).
"""

from __future__ import annotations

from itertools import compress

from jamcore.pvm.blob import HALT_ADDRESS
from jamcore.pvm.instructions import TERMINATORS, ArgKind
from jamcore.pvm.program import Instruction, Program
from jamcore.pvm.statements import (
    K_CONTINUE,
    K_HALT,
    K_HOST,
    K_OOG,
    K_PANIC,
    M32,
    condition,
    group_lines,
    instruction,
    same_page_group,
)

__all__ = ["UnitWriter", "regions", "static_predecessors"]

_INLINE_DEPTH = 10
"""Nesting limit for successors placed inline (Python limits indentation to 100)."""
_TREE_DEPTH = 12
"""Below this depth the dispatch tree splits evenly instead of by weight."""
_BRANCH_KINDS = (ArgKind.REG_IMM_OFFSET, ArgKind.REG_REG_OFFSET)


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


class UnitWriter:
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
            "    RD = m.readable; WR = m.writable; RN = WN = -1; RP = WP = None",
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
            group = same_page_group(body, index, end)
            if len(group) > 1:
                group_lines(body[index : index + len(group)], group, lines)
                index += len(group)
            else:
                instruction(ins, lines)
                index += 1
        last = body[-1]
        if last.opcode.kind in _BRANCH_KINDS and last.opcode.number != 80 and last.args[-1] == pc:
            return self._self_loop(last, lines, depth)
        self._terminator(last, lines, "", depth)
        return lines

    def _self_loop(self, ins: Instruction, lines: list[str], depth: int) -> list[str]:
        """A block whose branch targets its own start: iterate in a local `while` loop
        (gas still charged on every entry) and leave it when the branch is not taken."""
        op, args = ins.opcode.number, ins.args
        other = args[1] if ins.opcode.kind is ArgKind.REG_IMM_OFFSET else f"r{args[1]}"
        looped = ["while True:"] + [" " + line for line in lines]
        looped.append(f" if not ({condition(op, f'r{args[0]}', other)}): break")
        self._transfer(looped, "", ins.next_pc, depth)
        return looped

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
        """djump(a) (A.18): halt, a jump-table target (in this unit or not), or panic.
        `heads_name` maps the jump-table addresses of this unit's heads to them."""
        lines += [
            f"{indent}a = {address}; t = {self.heads_name}.get(a)",
            f"{indent}if t is not None: pc = t; continue",
            f"{indent}if a == {HALT_ADDRESS}: return ({K_HALT}, {ins.pc}, g, 0)",
            f"{indent}t = JT.get(a)",
            f"{indent}if t is None: return ({K_PANIC}, {ins.pc}, g, 0)",
            f"{indent}return ({K_CONTINUE}, t, g, 0)",
        ]

    def head_jumps(self) -> dict[int, int]:
        """Jump-table address -> head of this unit, for the addresses djump stays in the
        unit for (the halt address excepted: it always halts)."""
        return {
            address: target
            for address, target in self.program.jump_targets.items()
            if target in self.heads and address != HALT_ADDRESS
        }

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
            lines.append(f"{indent}if {condition(op, f'r{args[0]}', other)}:")
            self._goto(lines, indent + " ", ins, args[2], depth + 1)
            self._transfer(lines, indent, ins.next_pc, depth)


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
