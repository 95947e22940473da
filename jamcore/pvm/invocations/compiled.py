"""Service code with the fast path attached (kept for the accumulate invocation).

The fast path itself (`jamcore.pvm.fast`) now translates a program lazily, block by block
as it is executed, and caches the result by program contents; this module only attaches
that compiled form to a decoded program.
"""

from __future__ import annotations

from jamcore.pvm.fast import compile_program
from jamcore.pvm.program import Program


def lazily_compiled(program: Program) -> Program:
    """`program` with its lazily translated fast path attached (unless it has one)."""
    compile_program(program)
    return program
