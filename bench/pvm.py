"""PVM benchmarks: interpreter and fast-path speed on two assembled loops, and the time to
compile a 10k-instruction program.

Figures: pvm.interp.instructions_per_s and pvm.fast.instructions_per_s (arithmetic loop),
pvm.{interp,fast}.memory.instructions_per_s (memory-heavy loop), pvm.fast.speedup (fast
over interpreter on the arithmetic loop), pvm.fast.branchy.instructions_per_s (a loop of
four basic blocks, run as one translated unit) and pvm.fast.compile_ms (decoding plus
translating every block of a 10k-instruction program into one unit at once; the fast path
normally translates lazily, only the blocks it executes). Every loop runs for at least 10M
instructions in both modes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from bench import Figure
from jamcore.pvm.assembler import assemble
from jamcore.pvm.blob import HALT_ADDRESS
from jamcore.pvm.exits import ExitStatus
from jamcore.pvm.fast import CompiledProgram
from jamcore.pvm.host import Mode, run
from jamcore.pvm.machine import MachineState
from jamcore.pvm.memory import Memory
from jamcore.pvm.program import Program

FAST_INSTRUCTIONS = 10_000_000
INTERP_INSTRUCTIONS = 10_000_000

ARITHMETIC_LOOP = """
    load_imm r2, 1
    load_imm r4, {iterations}
    fallthrough
loop:                               ; 8 instructions per iteration
    add_64 r1, r1, r2               ; sum += i
    xor r3, r1, r2
    add_imm_64 r2, r2, 1            ; i += 1
    shlo_r_imm_64 r5, r3, 3
    and_imm r5, r5, 255
    add_64 r6, r6, r5               ; checksum
    add_imm_64 r4, r4, -1
    branch_ne_imm r4, 0, loop
    jump_ind r0, 0                  ; halt
"""
ARITHMETIC_BODY = 8

MEMORY_LOOP = """
    load_imm r9, 0x20000            ; source page
    load_imm r4, {iterations}
    fallthrough
loop:                               ; 10 instructions per iteration, 4 memory accesses
    add_64 r7, r9, r8
    load_ind_u64 r1, r7, 0
    add_64 r2, r2, r1
    store_ind_u64 r2, r7, 0x1000    ; destination page
    load_ind_u32 r3, r7, 0x1004
    store_ind_u32 r3, r7, 0x2000
    add_imm_64 r8, r8, 8
    and_imm r8, r8, 0xFF8
    add_imm_64 r4, r4, -1
    branch_ne_imm r4, 0, loop
    jump_ind r0, 0
"""
MEMORY_BODY = 10


BRANCHY_LOOP = """
    load_imm r1, 27
    load_imm r4, {iterations}
    fallthrough
loop:                               ; a Collatz walk: 5 or 7 instructions per iteration
    and_imm r5, r1, 1
    branch_eq_imm r5, 0, even
    mul_imm_64 r1, r1, 3
    add_imm_64 r1, r1, 1
    jump next
even:
    shlo_r_imm_64 r1, r1, 1
    fallthrough
next:
    add_imm_64 r4, r4, -1
    branch_ne_imm r4, 0, loop
    jump_ind r0, 0
"""
BRANCHY_BODY = 5


def _loop_program(source: str, body: int, instructions: int) -> Program:
    return Program.from_blob(assemble(source.format(iterations=instructions // body + 1)))


def _rate(program: Program, mode: Mode) -> float:
    """Executed instructions per second (gas used, one gas per instruction)."""
    memory = Memory()
    memory.map(0x20000, 4 * 4096, writable=True)
    registers = [HALT_ADDRESS] + [0] * 12
    state = MachineState.create(pc=0, gas=2**62, registers=registers, memory=memory)
    start = time.perf_counter()
    exit_ = run(program, state, mode=mode)
    elapsed = time.perf_counter() - start
    assert exit_.status is ExitStatus.HALT, exit_
    return (2**62 - state.gas) / elapsed


def _compile_program_source(instructions: int) -> str:
    """A straight-line-and-branches program of about `instructions` instructions."""
    lines = []
    ops = [
        "add_64 r{a}, r{b}, r{c}", "xor r{a}, r{b}, r{c}", "add_imm_64 r{a}, r{b}, {k}",
        "mul_64 r{a}, r{b}, r{c}", "shlo_l_imm_64 r{a}, r{b}, 3", "sub_32 r{a}, r{b}, r{c}",
        "load_ind_u32 r{a}, r{b}, {k}", "store_ind_u64 r{a}, r{b}, {k}",
        "div_u_64 r{a}, r{b}, r{c}",
    ]
    block = 0
    while block * 10 < instructions:  # 9 operations and a branch per block
        lines.append(f"b{block}:")
        for i in range(9):
            n = block * 9 + i
            lines.append(ops[n % len(ops)].format(a=n % 13, b=(n + 3) % 13, c=(n + 7) % 13, k=n))
        lines.append(f"branch_eq r1, r2, b{block // 2}")
        block += 1
    lines.append("trap")
    return "\n".join(lines)


def figures() -> Iterator[Figure]:
    arithmetic_fast = _loop_program(ARITHMETIC_LOOP, ARITHMETIC_BODY, FAST_INSTRUCTIONS)
    arithmetic_interp = _loop_program(ARITHMETIC_LOOP, ARITHMETIC_BODY, INTERP_INSTRUCTIONS)
    memory_fast = _loop_program(MEMORY_LOOP, MEMORY_BODY, FAST_INSTRUCTIONS)
    memory_interp = _loop_program(MEMORY_LOOP, MEMORY_BODY, INTERP_INSTRUCTIONS)

    interp = _rate(arithmetic_interp, "interpreter")
    yield Figure("pvm.interp.instructions_per_s", interp, "instructions/s")
    yield Figure(
        "pvm.interp.memory.instructions_per_s", _rate(memory_interp, "interpreter"),
        "instructions/s",
    )
    fast = max(_rate(arithmetic_fast, "fast") for _ in range(3))
    yield Figure("pvm.fast.instructions_per_s", fast, "instructions/s")
    yield Figure(
        "pvm.fast.memory.instructions_per_s",
        max(_rate(memory_fast, "fast") for _ in range(3)),
        "instructions/s",
    )
    yield Figure("pvm.fast.speedup", fast / interp, "x")
    branchy = _loop_program(BRANCHY_LOOP, BRANCHY_BODY, FAST_INSTRUCTIONS)
    yield Figure(
        "pvm.fast.branchy.instructions_per_s",
        max(_rate(branchy, "fast") for _ in range(3)),
        "instructions/s",
    )

    blob = assemble(_compile_program_source(10_000))
    assert sum(Program.from_blob(blob).bitmask) >= 10_000
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        CompiledProgram(Program.from_blob(blob), eager=True)
        best = min(best, time.perf_counter() - start)
    yield Figure("pvm.fast.compile_ms", best * 1000, "ms")
