"""Lazily compiled programs for the fast path (a workaround inside the invocations).

`jamcore.pvm.fast.CompiledProgram` translates every basic block of a program when it is
first run: for a service of ~100 kB that is seconds, paid by the first block that
accumulates it, although one accumulation touches a small part of the code. This subclass
computes the strongly connected regions up front (cheap) and translates a region, or a
single block, only when execution first enters it; the generated functions are the same
ones, so execution and gas are exactly the fast path's.
"""

from __future__ import annotations

from jamcore.pvm import fast
from jamcore.pvm.program import Program


class LazyCompiledProgram(fast.CompiledProgram):
    """`fast.CompiledProgram` translating regions and blocks on first entry."""

    def __init__(self, program: Program) -> None:  # noqa: D107 - see the class docstring
        self.program = program
        self.namespace = fast._namespace(program)  # noqa: SLF001 - same namespace as eager
        self.charged = {}
        self.uncharged = {}
        self._regions = {pc: members for members in fast.regions(program) for pc in members}
        self._count = 0

    def entry(self, pc: int, *, charged: bool) -> fast.BlockFn:
        """The function that runs from `pc`: its whole region on first entry to a region
        block, else as `fast.CompiledProgram.entry`."""
        if charged and pc not in self.charged and pc in self._regions:
            members = self._regions[pc]
            name = f"lazy_region{self._count}"
            self._count += 1
            source = fast._region_source(self.program, members, name)  # noqa: SLF001
            exec(compile(source, "<pvm region>", "exec"), self.namespace)
            function = self.namespace[name]
            for member in members:
                self.charged[member] = function
            return function
        return super().entry(pc, charged=charged)


def lazily_compiled(program: Program) -> Program:
    """`program` with a lazily compiled fast path attached (unless it has one)."""
    if program.compiled is None:
        program.compiled = LazyCompiledProgram(program)
    return program
