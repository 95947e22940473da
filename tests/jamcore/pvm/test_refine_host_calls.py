"""The refine host calls (graypaper 0.7.2 Appendix B.6) run from assembled refine code.

Each test assembles a program that makes a list of host calls (registers ω_7.. set with
load_imm_64), stores every call's ω_7 and ω_8 in a result area and halts returning that
page, then runs it through Ψ_R.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from jamcore.codec import Variant
from jamcore.crypto.hashing import blake2b_256
from jamcore.pvm.assembler import assemble
from jamcore.pvm.blob import ZONE_SIZE, deblob
from jamcore.pvm.host import MODES, Mode
from jamcore.pvm.host_calls import FULL, HUH, NONE, OK, OOB, WHAT, WHO
from jamcore.pvm.host_calls.general import (
    MAX_PACKAGE_EXPORTS,
    SEGMENT_SIZE,
    protocol_constants,
)
from jamcore.pvm.host_calls.refine import (
    INNER_FAULT,
    INNER_HALT,
    INNER_HOST,
    INNER_OOG,
    INNER_PANIC,
)
from jamcore.pvm.invocations.refine import RefineOutcome
from jamcore.spec import TINY
from jamcore.types.services import ServiceAccount
from jamcore.work.package import WORK_PACKAGE
from tests.jamcore.pvm.test_invocations import (
    ANCHOR_SLOT,
    SERVICE,
    account,
    package,
    run_refine,
    standard,
)

HISTORICAL_LOOKUP, EXPORT, MACHINE, PEEK, POKE, PAGES, INVOKE, EXPUNGE = range(6, 14)
PAGE = 4096
RO = ZONE_SIZE
"""Read-only data (the `ro` argument) starts here."""
RW = 3 * ZONE_SIZE
"""Read-write data starts here when there is read-only data of at most one zone."""
RESULTS = RW
BUFFER = RW + 0x800
FRAME = RW + 0xC00
UNMAPPED = 0x5000_0000
Call = tuple[int, Sequence[int]]


def program(calls: Sequence[Call], ro: bytes, rw: bytes = b"") -> bytes:
    """Code making `calls` and halting with the first rw page (results, then buffer)."""
    lines = []
    for k, (index, registers) in enumerate(calls):
        lines += [f"load_imm_64 r{7 + i}, {value}" for i, value in enumerate(registers)]
        lines += [
            f"ecalli {index}",
            f"store_u64 r7, {RESULTS + 16 * k}",
            f"store_u64 r8, {RESULTS + 16 * k + 8}",
        ]
    lines += [f"load_imm r7, {RW}", f"load_imm r8, {PAGE}", "jump_ind r0, 0"]
    rw = rw.ljust(2 * PAGE, b"\0")
    return standard("\n".join(lines), ro=ro or b"\0", rw=rw)


def execute(
    calls: Sequence[Call],
    ro: bytes = b"",
    rw: bytes = b"",
    mode: Mode = "fast",
    accounts: Mapping[int, ServiceAccount] | None = None,
    export_offset: int = 0,
) -> tuple[list[tuple[int, int]], bytes, RefineOutcome]:
    """Run `calls`; returns each call's (ω_7, ω_8), the buffer and the outcome."""
    outcome = run_refine(
        program(calls, ro, rw), mode, accounts=accounts, export_offset=export_offset
    )
    assert outcome.result.tag == "ok", outcome
    page = outcome.result.value
    results = [
        (int.from_bytes(page[16 * k : 16 * k + 8], "little"),
         int.from_bytes(page[16 * k + 8 : 16 * k + 16], "little"))
        for k in range(len(calls))
    ]
    return results, page[0x800:0xC00], outcome


def r7s(calls: Sequence[Call], **kwargs: object) -> list[int]:
    return [r7 for r7, _ in execute(calls, **kwargs)[0]]  # type: ignore[arg-type]


def panics(calls: Sequence[Call], ro: bytes = b"") -> bool:
    return run_refine(program(calls, ro)).result == Variant("panic")


# -- gas and unknown calls -----------------------------------------------------------------


def test_gas_and_unknown_call() -> None:
    (gas, _), (what, _) = execute([(0, []), (99, [])])[0]
    assert gas == 100_000 - 1 - 10  # A.1: the ecalli, then this call (not its whole block)
    assert what == WHAT


# -- historical_lookup ---------------------------------------------------------------------


PREIMAGE = b"the preimage data"
HASH = blake2b_256(PREIMAGE)
OTHER = 42


@pytest.mark.parametrize("mode", MODES)
def test_historical_lookup(mode: Mode) -> None:
    accounts = {
        OTHER: account(OTHER, {PREIMAGE: [ANCHOR_SLOT]}),
        OTHER + 1: account(OTHER + 1, {PREIMAGE: [1, ANCHOR_SLOT]}),
    }
    calls = [
        (HISTORICAL_LOOKUP, [OTHER, RO, BUFFER, 0, 100]),
        (HISTORICAL_LOOKUP, [OTHER, RO, BUFFER + 64, 4, 3]),
        (HISTORICAL_LOOKUP, [OTHER, RO, BUFFER + 128, 100, 3]),
        (HISTORICAL_LOOKUP, [NONE, RO, BUFFER + 256, 0, 100]),  # own service lacks it
        (HISTORICAL_LOOKUP, [OTHER + 1, RO, BUFFER + 256, 0, 100]),  # no longer available
        (HISTORICAL_LOOKUP, [12345, RO, BUFFER + 256, 0, 100]),  # no such service
        (HISTORICAL_LOOKUP, [OTHER, RO + 32, BUFFER + 256, 0, 100]),  # unknown hash
        (HISTORICAL_LOOKUP, [OTHER, RO + 32, RO, 0, 100]),  # NONE writes nothing
    ]
    results, buffer, _ = execute(calls, ro=HASH + bytes(32), mode=mode, accounts=accounts)
    assert [r7 for r7, _ in results] == [len(PREIMAGE)] * 3 + [NONE] * 5
    assert buffer[: len(PREIMAGE) + 1] == PREIMAGE + b"\0"
    assert buffer[64:68] == PREIMAGE[4:7] + b"\0"
    assert buffer[128:129] == b"\0"
    assert buffer[256:512] == bytes(256)


def test_historical_lookup_of_own_service() -> None:
    accounts = {SERVICE: account(SERVICE, {PREIMAGE: [ANCHOR_SLOT - 1]})}
    calls = [
        (HISTORICAL_LOOKUP, [NONE, RO, BUFFER, 0, 100]),
        (HISTORICAL_LOOKUP, [SERVICE, RO, BUFFER, 0, 100]),
    ]
    results, buffer, _ = execute(calls, ro=HASH, accounts=accounts)
    assert [r7 for r7, _ in results] == [len(PREIMAGE)] * 2
    assert buffer.startswith(PREIMAGE)


def test_historical_lookup_panics() -> None:
    accounts = {OTHER: account(OTHER, {PREIMAGE: [0]})}
    unreadable_hash = [(HISTORICAL_LOOKUP, [OTHER, UNMAPPED, BUFFER, 0, 100])]
    unwritable_output = [(HISTORICAL_LOOKUP, [OTHER, RO, RO, 0, 100])]
    for calls in (unreadable_hash, unwritable_output):
        outcome = run_refine(program(calls, HASH), accounts=accounts)
        assert outcome.result == Variant("panic")


# -- export --------------------------------------------------------------------------------


DATA = bytes(range(256)) * 32


@pytest.mark.parametrize("mode", MODES)
def test_export_pads_and_truncates_segments(mode: Mode) -> None:
    calls = [(EXPORT, [RO, 5]), (EXPORT, [RO, 10_000]), (EXPORT, [UNMAPPED, 0])]
    assert r7s(calls, ro=DATA, mode=mode) == [0, 1, 2]
    exports = execute(calls, ro=DATA, mode=mode)[2].exports
    assert exports == (DATA[:5] + bytes(SEGMENT_SIZE - 5), DATA[:SEGMENT_SIZE], bytes(4104))


def test_export_indices_start_at_the_offset_and_stop_at_the_limit() -> None:
    calls = [(EXPORT, [RO, 1]), (EXPORT, [RO, 1])]
    assert r7s(calls, ro=DATA, export_offset=10) == [10, 11]
    results, _, outcome = execute(calls, ro=DATA, export_offset=MAX_PACKAGE_EXPORTS - 1)
    assert [r7 for r7, _ in results] == [MAX_PACKAGE_EXPORTS - 1, FULL]
    assert len(outcome.exports) == 1
    assert r7s(calls, ro=DATA, export_offset=MAX_PACKAGE_EXPORTS) == [FULL, FULL]


def test_export_panics_on_unreadable_data() -> None:
    assert panics([(EXPORT, [UNMAPPED, 1])], ro=DATA)
    assert panics([(EXPORT, [RO + len(DATA) - 1, 2])], ro=DATA)


# -- inner machines ------------------------------------------------------------------------


INNER = assemble(
    """
    load_u64 r2, 0x10000
    add_imm_64 r1, r2, 1
    ecalli 5
    store_u64 r1, 0x10008
    load_u64 r3, 0x20000
    trap
    """
)
INNER_TRAP_PC = len(deblob(INNER).code) - 1
HALTS = assemble("jump_ind r0, 0")
COUNTS = assemble("add_imm_64 r1, r1, 1\n" * 4 + "trap")


def frame(gas: int, **registers: int) -> bytes:
    values = [registers.get(f"r{i}", 0) for i in range(13)]
    return gas.to_bytes(8, "little") + b"".join(v.to_bytes(8, "little") for v in values)


def parse_frame(buffer: bytes) -> tuple[int, list[int]]:
    raw = buffer[FRAME - BUFFER : FRAME - BUFFER + 112]
    words = [int.from_bytes(raw[8 * k : 8 * k + 8], "little") for k in range(14)]
    return words[0], words[1:]


def execute_with_frame(
    calls: Sequence[Call], ro: bytes, initial: bytes, mode: Mode = "fast"
) -> tuple[list[int], bytes, tuple[int, list[int]]]:
    rw = bytes(FRAME - RW) + initial
    outcome = run_refine(program(calls, ro, rw), mode)
    assert outcome.result.tag == "ok", outcome
    page = outcome.result.value
    results = [int.from_bytes(page[16 * k : 16 * k + 8], "little") for k in range(len(calls))]
    seconds = [int.from_bytes(page[16 * k + 8 : 16 * k + 16], "little") for k in range(len(calls))]
    frame_words = parse_frame(page[0x800:])
    return [*results, *seconds], page[0x800:0xC00], frame_words


@pytest.mark.parametrize("mode", MODES)
def test_inner_machine_lifecycle(mode: Mode) -> None:
    value = 0x1122334455667788
    ro = INNER.ljust(256, b"\0") + value.to_bytes(8, "little")
    code, data = RO, RO + 256
    calls = [
        (MACHINE, [code, len(INNER), 0]),
        (MACHINE, [code, len(INNER), 0]),
        (EXPUNGE, [1]),
        (MACHINE, [code, len(INNER), 7]),  # reuses index 1
        (PAGES, [0, 16, 1, 2]),
        (POKE, [0, data, 0x10000, 8]),
        (INVOKE, [0, FRAME]),  # stops at ecalli 5
        (INVOKE, [0, FRAME]),  # resumes after it: faults reading page 32
        (PAGES, [0, 32, 1, 1]),
        (INVOKE, [0, FRAME]),  # retries the load, then traps
        (PEEK, [0, BUFFER, 0x10000, 16]),
        (EXPUNGE, [0]),
        (EXPUNGE, [1]),
        (EXPUNGE, [0]),
    ]
    words, buffer, (gas, registers) = execute_with_frame(calls, ro, frame(1000), mode)
    n = len(calls)
    r7, r8 = words[:n], words[n:]
    assert r7[:6] == [0, 1, 0, 1, OK, OK]
    assert (r7[6], r8[6]) == (INNER_HOST, 5)
    assert (r7[7], r8[7]) == (INNER_FAULT, 0x20000)
    assert r7[8] == OK
    assert (r7[9], r8[9]) == (INNER_PANIC, FRAME)
    assert buffer[:16] == value.to_bytes(8, "little") + (value + 1).to_bytes(8, "little")
    assert r7[10:] == [OK, INNER_TRAP_PC, 7, WHO]
    # A.1: six instructions ran, the load that faulted twice (it costs 1 each time)
    assert gas == 1000 - 7
    assert registers[1:4] == [value + 1, value, 0]


def test_inner_machine_halt_and_out_of_gas() -> None:
    calls = [(MACHINE, [RO, len(HALTS), 0]), (INVOKE, [0, FRAME])]
    words, _, (gas, registers) = execute_with_frame(calls, HALTS, frame(10, r0=2**32 - 2**16))
    assert words[1] == INNER_HALT
    assert gas == 9 and registers[0] == 2**32 - 2**16
    # the block costs 5 but only 2 instructions are paid for: they run, then the gas is out
    calls = [(MACHINE, [RO, len(COUNTS), 0]), (INVOKE, [0, FRAME])]
    words, _, (gas, registers) = execute_with_frame(calls, COUNTS, frame(2))
    assert (words[1], words[3], gas, registers[1]) == (INNER_OOG, FRAME, 0, 2)
    # with RAM unmapped, INNER's first load faults before its gas (5 < its block's 6) is out
    calls = [(MACHINE, [RO, len(INNER), 0]), (INVOKE, [0, FRAME])]
    words, _, (gas, _) = execute_with_frame(calls, INNER, frame(5))
    assert (words[1], words[3], gas) == (INNER_FAULT, 0x10000, 4)


@pytest.mark.parametrize("mode", MODES)
def test_inner_machine_gas_is_per_instruction(mode: Mode) -> None:
    # stopped at its ecalli, the inner machine has paid for the three instructions run,
    # not for its whole six-instruction block
    calls = [(MACHINE, [RO, len(INNER), 0]), (PAGES, [0, 16, 1, 2]), (INVOKE, [0, FRAME])]
    words, _, (gas, _) = execute_with_frame(calls, INNER, frame(1000), mode)
    assert (words[2], words[5], gas) == (INNER_HOST, 5, 1000 - 3)
    # with 4 gas: stopped at the ecalli with 1 left, resumed it runs the store (the rest of
    # its block costs 3), then the gas is out at the load
    calls = [*calls, (INVOKE, [0, FRAME]), (PEEK, [0, BUFFER, 0x10008, 8])]
    words, buffer, (gas, _) = execute_with_frame(calls, INNER, frame(4), mode)
    assert (words[2], words[3], gas) == (INNER_HOST, INNER_OOG, 0)
    assert buffer[:8] == (1).to_bytes(8, "little")  # r1 = the loaded 0 + 1, stored


def test_inner_machine_errors() -> None:
    calls = [
        (MACHINE, [RO, 2, 0]),  # not a program blob
        (INVOKE, [3, FRAME]),
        (PEEK, [3, BUFFER, 0x10000, 1]),
        (POKE, [3, RO, 0x10000, 1]),
        (PAGES, [3, 16, 1, 1]),
        (EXPUNGE, [3]),
        (MACHINE, [RO + 8, len(HALTS), 0]),
        (PEEK, [0, BUFFER, 0x10000, 1]),  # inner page inaccessible
        (POKE, [0, RO, 0x10000, 1]),
        (PAGES, [0, 16, 1, 1]),  # read-only
        (POKE, [0, RO, 0x10000, 1]),  # not writable
        (PEEK, [0, BUFFER, 0x10000, 1]),
        (PAGES, [0, 16, 1, 5]),
        (PAGES, [0, 15, 1, 1]),
        (PAGES, [0, 2**20 - 1, 1, 1]),
        (PAGES, [0, 2**20 - 2, 1, 1]),
        (PAGES, [0, 17, 1, 3]),  # keeping contents needs accessible pages
        (PAGES, [0, 16, 2, 4]),
        (PAGES, [0, 16, 1, 0]),
        (PEEK, [0, BUFFER, 0x10000, 1]),
        (PEEK, [0, BUFFER, 0x10000, 0]),
    ]
    results, _, _ = execute_with_frame(calls, b"\xff\xff".ljust(8, b"\0") + HALTS, frame(0))
    assert results[: len(calls)] == [
        HUH, WHO, WHO, WHO, WHO, WHO, 0, OOB, OOB, OK, OOB, OK,
        HUH, HUH, HUH, OK, HUH, HUH, OK, OOB, OK,
    ]


@pytest.mark.parametrize("mode", MODES)
def test_pages_modes_zero_or_keep_contents(mode: Mode) -> None:
    ro = HALTS.ljust(64, b"\0") + b"abcdefgh"
    calls = [
        (MACHINE, [RO, len(HALTS), 0]),
        (PAGES, [0, 16, 40, 2]),  # more than the eagerly mapped pages
        (POKE, [0, RO + 64, 0x10000, 8]),
        (POKE, [0, RO + 64, 0x10000 + 30 * PAGE, 8]),
        (PAGES, [0, 16, 40, 3]),  # read-only, contents kept
        (PEEK, [0, BUFFER, 0x10000, 8]),
        (POKE, [0, RO, 0x10000, 1]),
        (PAGES, [0, 20, 20, 4]),  # writable again, contents kept
        (PEEK, [0, BUFFER + 8, 0x10000 + 30 * PAGE, 8]),
        (PAGES, [0, 40, 2, 0]),  # drop two pages
        (PEEK, [0, BUFFER, 0x10000 + 24 * PAGE, 1]),
        (PAGES, [0, 46, 1, 2]),  # zeroed
        (PEEK, [0, BUFFER + 16, 0x10000 + 30 * PAGE, 8]),
        (PEEK, [0, BUFFER + 24, 0x10000 + 32 * PAGE, 8]),
    ]
    results, buffer, _ = execute_with_frame(calls, ro, frame(0), mode)
    assert results[: len(calls)] == [0, OK, OK, OK, OK, OK, OOB, OK, OK, OK, OOB, OK, OK, OK]
    assert buffer[:24] == b"abcdefgh" * 2 + bytes(8)


def test_inner_machine_host_calls_panic_on_outer_memory() -> None:
    make = (MACHINE, [RO, len(HALTS), 0])
    assert panics([(MACHINE, [UNMAPPED, 4, 0])], ro=HALTS)
    assert panics([make, (PEEK, [0, RO, 0x10000, 1])], ro=HALTS)
    assert panics([make, (PEEK, [9, UNMAPPED, 0x10000, 1])], ro=HALTS)
    assert panics([make, (POKE, [9, UNMAPPED, 0x10000, 1])], ro=HALTS)
    assert panics([make, (INVOKE, [0, RO])], ro=HALTS)
    assert panics([make, (INVOKE, [9, RW + 2 * PAGE - 100])], ro=HALTS)


# -- fetch (refine context) ------------------------------------------------------------------


def test_fetch_in_refine() -> None:
    work_package, _ = package(b"")  # the same shape run_refine builds
    calls = [
        (1, [BUFFER, 0, 64, 0, 0, 0]),  # protocol constants
        (1, [BUFFER, 0, 64, 1, 0, 0]),  # entropy: the zero hash
        (1, [BUFFER, 0, 64, 2, 0, 0]),  # authorizer trace
        (1, [BUFFER + 64, 0, 64, 13, 0, 0]),  # item 0's payload
        (1, [BUFFER, 0, 0, 5, 0, 0]),  # no imports
        (1, [BUFFER, 0, 0, 3, 0, 0]),  # no extrinsics
        (1, [BUFFER, 0, 0, 14, 0, 0]),  # no accumulation inputs
        (1, [BUFFER, 0, 0, 7, 0, 0]),  # the encoded package
        (1, [RO, 0, 64, 0, 0, 0]),  # constants into read-only memory
    ]
    results, buffer, _ = execute(calls[:-1])
    assert [r7 for r7, _ in results] == [
        len(protocol_constants(TINY)), 32, 5, 7, NONE, NONE, NONE,
        len(WORK_PACKAGE.encode(work_package)),
    ]
    assert buffer[64:71] == b"payload"
    assert panics(calls[-1:])
