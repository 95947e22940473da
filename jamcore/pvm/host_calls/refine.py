"""The refine host functions (graypaper 0.7.2 Appendix B.6, "Refine Functions").

They act on the refine context pair (m, e): the map m of integrated PVMs (inner machines,
eq. B.4, each with its own code, RAM and instruction counter) and the sequence e of
exported segments. Each function takes the outer machine state after its 10 gas were
charged, mutates registers, RAM and context in place, and returns None to continue or
`PANIC` to end the run (the calling convention of `jamcore.pvm.host.HostCall`).

Memory checks are done up front, so an inaccessible outer range panics (as the graypaper
says) rather than surfacing as a page fault.

Also here: the historical lookup Λ (eq. 9.7), which `historical_lookup`, Ψ_I and Ψ_R use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from jamcore.codec import CodecError, Reader, read_natural
from jamcore.pvm.exits import PANIC, Exit, ExitStatus, PvmBlobError
from jamcore.pvm.host_calls import FULL, HUH, NONE, OK, OOB, WHO
from jamcore.pvm.host_calls.general import (
    MAX_PACKAGE_EXPORTS,
    SEGMENT_SIZE,
    output,
    read_memory,
)
from jamcore.pvm.machine import MachineState
from jamcore.pvm.memory import PAGE_BITS, PAGE_SIZE, READ, WRITE, Memory
from jamcore.pvm.metering import Mode, run_metered
from jamcore.pvm.program import Program
from jamcore.state.keys import preimage_key, request_key
from jamcore.types.services import ServiceAccount

INNER_HALT, INNER_PANIC, INNER_FAULT, INNER_HOST, INNER_OOG = range(5)
"""Inner PVM invocation result codes (Appendix B.1)."""

ADDRESS_SPACE = 1 << 32
PAGE_COUNT = ADDRESS_SPACE // PAGE_SIZE
RESERVED_PAGES = 16
"""Pages below 16 (the first 64 KiB) can never be mapped into an inner machine (Ω_Z)."""
INVOKE_FRAME = 112
"""E_8(g) ++ E_8(ω_0..12): the gas-and-registers frame `invoke` reads and writes."""
_M64 = (1 << 64) - 1


# -- the historical lookup Λ (eq. 9.7) -----------------------------------------------------


def _available(timeline: bytes, slot: int) -> bool:
    """I(l, t) of eq. 9.7 on a request status encoded E(↕[E_4(x), ...])."""
    try:
        reader = Reader(timeline)
        count = read_natural(reader)
        slots = [int.from_bytes(reader.read(4), "little") for _ in range(count)]
    except CodecError:
        return False
    if len(slots) == 1:
        return slots[0] <= slot
    if len(slots) == 2:
        return slots[0] <= slot < slots[1]
    if len(slots) == 3:
        return slots[0] <= slot < slots[1] or slots[2] <= slot
    return False


def lookup_historical(
    account: ServiceAccount, service: int, slot: int, preimage_hash: bytes
) -> bytes | None:
    """Λ(a, t, h) (eq. 9.7): the preimage of `preimage_hash` held by service `service`
    if its request timeline says it was available at `slot`, else None."""
    if len(preimage_hash) != 32:
        return None
    preimage = account.entries.get(preimage_key(service, preimage_hash))
    if preimage is None:
        return None
    timeline = account.entries.get(request_key(service, preimage_hash, len(preimage)))
    # Verify the preimage was available at the lookup slot
    if timeline is None or not _available(timeline, slot):
        return None
    return bytes(preimage)


def split_metadata(preimage: bytes) -> bytes | None:
    """The code c of a code preimage E(↕z, c) (metadata z then code, eq. 14.10 and B.5);
    None if the metadata length prefix does not fit."""
    try:
        reader = Reader(preimage)
        length = read_natural(reader)
    except CodecError:
        return None
    if reader.pos + length > len(preimage):
        return None
    return bytes(preimage[reader.pos + length :])


# -- the refine context (m, e) -------------------------------------------------------------


@dataclass(slots=True)
class IntegratedPvm:
    """An inner machine (eq. B.4): program code c, RAM u and instruction counter i.

    `inside_block` records that `pc` may lie inside a basic block (it is where an earlier
    run stopped: after a host call, at a fault, where the gas ran out), so the next run
    pays the rest of that block from `pc` rather than a block entry
    (`jamcore.pvm.metering.run_metered`)."""

    code: bytes
    program: Program
    memory: Memory
    pc: int
    inside_block: bool = False


@dataclass(slots=True)
class RefineHostContext:
    """The refine context pair (m, e): inner machines by index and exported segments,
    both initially empty (Appendix B.6); `mode` is how inner machines are run."""

    machines: dict[int, IntegratedPvm] = field(default_factory=dict)
    exports: list[bytes] = field(default_factory=list)
    mode: Mode = "fast"


# -- memory range checks --------------------------------------------------------------------


def _accessible(memory: Memory, start: int, length: int, needed: int) -> bool:
    """Whether N_{start..+length} is within the 32-bit space and each page grants
    `needed` (READ or WRITE) access; an empty range always is."""
    if length == 0:
        return True
    if start + length > ADDRESS_SPACE:
        return False
    first, last = start >> PAGE_BITS, (start + length - 1) >> PAGE_BITS
    access = memory._access  # noqa: SLF001 - Memory has no public per-page query
    return all(access(page) >= needed for page in range(first, last + 1))


def readable(memory: Memory, start: int, length: int) -> bool:
    """N_{start..+length} ⊆ V_µ (readable indices)."""
    return _accessible(memory, start, length, READ)


def writable(memory: Memory, start: int, length: int) -> bool:
    """N_{start..+length} ⊆ V*_µ (writable indices)."""
    return _accessible(memory, start, length, WRITE)


def _unmap(memory: Memory, first: int, end: int) -> None:
    """Make pages [first, end) inaccessible, dropping their contents."""
    for page in [p for p in memory.readable if first <= p < end]:
        del memory.readable[page]
        memory.writable.pop(page, None)
    regions = []
    for low, high, can_write in memory._zero_regions:  # noqa: SLF001 - no public unmap
        if low < first:
            regions.append((low, min(high, first), can_write))
        if high > end:
            regions.append((max(low, end), high, can_write))
    memory._zero_regions = regions  # noqa: SLF001


# -- the refine host functions ---------------------------------------------------------------


def historical_lookup(
    state: MachineState,
    context: RefineHostContext,
    service: int,
    accounts: Mapping[int, ServiceAccount],
    slot: int,
) -> Exit | None:
    """Ω_H (`historical_lookup` = 6, Appendix B.6): Λ of service ω_7 (or `service` for
    2^64 - 1) at the lookup-anchor slot, for the hash at ω_8, into ω_9.."""
    regs = state.registers
    target = service if regs[7] == NONE else regs[7]
    account = accounts.get(target)
    h = read_memory(state.memory, regs[8], 32)
    # Verify the hash is readable
    if h is None:
        return PANIC
    value = None if account is None else lookup_historical(account, target, slot, h)
    return output(state, value, regs[9], regs[10], regs[11])


def export(state: MachineState, context: RefineHostContext, export_offset: int) -> Exit | None:
    """Ω_E (`export` = 7, Appendix B.6): append µ[ω_7..+min(ω_8, W_G)], zero-padded to
    W_G, to the exports; ω_7 = its segment index, or FULL past W_X exports."""
    regs = state.registers
    size = min(regs[8], SEGMENT_SIZE)
    data = read_memory(state.memory, regs[7], size)
    # Verify the segment data is readable
    if data is None:
        return PANIC
    index = export_offset + len(context.exports)
    # Verify the package's export limit W_X is not reached
    if index >= MAX_PACKAGE_EXPORTS:
        regs[7] = FULL
        return None
    context.exports.append(data + bytes(SEGMENT_SIZE - size))
    regs[7] = index
    return None


def machine(state: MachineState, context: RefineHostContext) -> Exit | None:
    """Ω_M (`machine` = 8, Appendix B.6): a new inner machine with the program blob at
    µ[ω_7..+ω_8], empty RAM and instruction counter ω_9; ω_7 = its index, or HUH if the
    blob does not deblob."""
    regs = state.registers
    code = read_memory(state.memory, regs[7], regs[8])
    pc = regs[9]
    # Verify the program blob is readable
    if code is None:
        return PANIC
    try:
        program = Program.from_blob(code)
    except PvmBlobError:
        regs[7] = HUH
        return None
    index = 0
    while index in context.machines:
        index += 1
    context.machines[index] = IntegratedPvm(code, program, Memory(), pc)
    regs[7] = index
    return None


def peek(state: MachineState, context: RefineHostContext) -> Exit | None:
    """Ω_P (`peek` = 9, Appendix B.6): copy ω_10 octets from inner machine ω_7's RAM at
    ω_9 to outer RAM at ω_8."""
    regs = state.registers
    n, out, source, size = regs[7], regs[8], regs[9], regs[10]
    # Verify the outer destination is writable
    if not writable(state.memory, out, size):
        return PANIC
    inner = context.machines.get(n)
    if inner is None:
        regs[7] = WHO
        return None
    # Verify the inner source is readable
    if not readable(inner.memory, source, size):
        regs[7] = OOB
        return None
    if size:
        state.memory.write(out, inner.memory.read(source, size))
    regs[7] = OK
    return None


def poke(state: MachineState, context: RefineHostContext) -> Exit | None:
    """Ω_O (`poke` = 10, Appendix B.6): copy ω_10 octets from outer RAM at ω_8 to inner
    machine ω_7's RAM at ω_9."""
    regs = state.registers
    n, out, size = regs[7], regs[9], regs[10]
    data = read_memory(state.memory, regs[8], size)
    # Verify the outer source is readable
    if data is None:
        return PANIC
    inner = context.machines.get(n)
    if inner is None:
        regs[7] = WHO
        return None
    # Verify the inner destination is writable
    if not writable(inner.memory, out, size):
        regs[7] = OOB
        return None
    if size:
        inner.memory.write(out, data)
    regs[7] = OK
    return None


def pages(state: MachineState, context: RefineHostContext) -> Exit | None:
    """Ω_Z (`pages` = 11, Appendix B.6): set ω_9 pages from page ω_8 of inner machine
    ω_7 to mode ω_10: 0 inaccessible, 1 zeroed read-only, 2 zeroed writable, 3/4 the same
    rights keeping contents (only over already accessible pages)."""
    regs = state.registers
    n, first, count, mode = regs[7], regs[8], regs[9], regs[10]
    inner = context.machines.get(n)
    if inner is None:
        regs[7] = WHO
        return None
    # Verify the mode and the page range
    if mode > 4 or first < RESERVED_PAGES or first + count >= PAGE_COUNT:
        regs[7] = HUH
        return None
    memory = inner.memory
    end = first + count
    if mode > 2 and not _accessible(memory, first << PAGE_BITS, count << PAGE_BITS, READ):
        regs[7] = HUH
        return None
    if mode < 3:
        _unmap(memory, first, end)
    if mode != 0 and count:
        memory.map(first << PAGE_BITS, count << PAGE_BITS, writable=mode in (2, 4))
    regs[7] = OK
    return None


def invoke(state: MachineState, context: RefineHostContext) -> Exit | None:
    """Ω_K (`invoke` = 12, Appendix B.6): run inner machine ω_7 (Ψ, A.1, one gas per
    instruction) with the gas and registers of the frame E_8(g) ++ E_8(ω) at ω_8, write
    the frame back, and report the exit: ω_7 = HALT/PANIC/FAULT/HOST/OOG, ω_8 = fault
    address or host-call index."""
    regs = state.registers
    n, frame_at = regs[7], regs[8]
    # Verify the gas-and-registers frame is writable
    if not writable(state.memory, frame_at, INVOKE_FRAME):
        return PANIC
    inner = context.machines.get(n)
    if inner is None:
        regs[7] = WHO
        return None
    frame = state.memory.read(frame_at, INVOKE_FRAME)
    gas = int.from_bytes(frame[:8], "little")
    registers = [int.from_bytes(frame[8 + 8 * k : 16 + 8 * k], "little") for k in range(13)]
    inner_state = MachineState(inner.pc, gas, registers, inner.memory)
    exit_ = run_metered(
        inner.program, inner_state, mode=context.mode, resume=inner.inside_block
    )
    frame = max(inner_state.gas, 0).to_bytes(8, "little") + b"".join(
        (value & _M64).to_bytes(8, "little") for value in inner_state.registers
    )
    state.memory.write(frame_at, frame)
    status = exit_.status
    # Wherever a run stops (an ecalli, a fault, gas out part-way) may be inside a block
    inner.inside_block = True
    if status is ExitStatus.HOST_CALL:
        inner.pc = inner.program.instruction(inner_state.pc).next_pc
        regs[7], regs[8] = INNER_HOST, exit_.value
    elif status is ExitStatus.PAGE_FAULT:
        inner.pc = inner_state.pc
        regs[7], regs[8] = INNER_FAULT, exit_.value
    else:
        inner.pc = inner_state.pc
        regs[7] = {
            ExitStatus.OUT_OF_GAS: INNER_OOG,
            ExitStatus.PANIC: INNER_PANIC,
            ExitStatus.HALT: INNER_HALT,
        }[status]
    return None


def expunge(state: MachineState, context: RefineHostContext) -> Exit | None:
    """Ω_X (`expunge` = 13, Appendix B.6): remove inner machine ω_7; ω_7 = its
    instruction counter, or WHO."""
    regs = state.registers
    inner = context.machines.pop(regs[7], None)
    regs[7] = WHO if inner is None else inner.pc & _M64
    return None
