"""Ψ_I and Ψ_R (graypaper 0.7.2 B.1, B.5): code lookup, arguments, result mapping, gas."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from jamcore.codec import Variant, encode_natural
from jamcore.crypto.hashing import blake2b_256
from jamcore.pvm.assembler import assemble
from jamcore.pvm.blob import INPUT_SIZE, ZONE_SIZE, StandardProgram
from jamcore.pvm.host import MODES, Mode
from jamcore.pvm.host_calls.general import (
    MAX_AUTH_CODE,
    MAX_REPORT_BLOBS,
    MAX_SERVICE_CODE,
    SEGMENT_SIZE,
)
from jamcore.pvm.invocations.is_authorized import authorization_code, is_authorized
from jamcore.pvm.invocations.refine import (
    RefineOutcome,
    refine,
    refine_arguments,
)
from jamcore.spec import TINY
from jamcore.state.keys import preimage_key, request_key
from jamcore.types.services import ServiceAccount, ServiceInfo
from jamcore.work.package import WORK_PACKAGE, RefineContext, WorkItem, WorkPackage
from jamcore.work.refine_pvm import ZERO_SEGMENT, NotAuthorized, RefinedPackage, refine_package
from jamcore.work.report import WORK_EXEC_RESULT, RefineLoad, WorkResult

SERVICE = 7
AUTH_HOST = 9
ANCHOR_SLOT = 100
ARGS_ADDRESS = (1 << 32) - ZONE_SIZE - INPUT_SIZE
INFO = ServiceInfo(0, bytes(32), 10**9, 0, 0, 0, 0, 0, 0, 0, 0)
HALT = "jump_ind r0, 0"
RETURN_ARGS = f"{HALT}"
"""Standard initialisation leaves ω_7, ω_8 at the argument string: halting echoes it."""


def code_preimage(code: bytes, metadata: bytes = b"meta") -> bytes:
    """E(↕z, c): a code preimage with its metadata."""
    return encode_natural(len(metadata)) + metadata + code


def timeline(*slots: int) -> bytes:
    """A request status E(↕[E_4(t)...])."""
    return encode_natural(len(slots)) + b"".join(t.to_bytes(4, "little") for t in slots)


def account(service: int, preimages: Mapping[bytes, Sequence[int]]) -> ServiceAccount:
    """A service account holding each preimage with the given request timeline."""
    entries: dict[bytes, bytes] = {}
    for blob, slots in preimages.items():
        h = blake2b_256(blob)
        entries[preimage_key(service, h)] = blob
        entries[request_key(service, h, len(blob))] = timeline(*slots)
    return ServiceAccount(INFO, entries)


def standard(text: str, ro: bytes = b"", rw: bytes = b"", stack: int = 4096) -> bytes:
    """A standard program blob (A.38) of assembled code."""
    return StandardProgram(ro, rw, 0, stack, assemble(text)).encode()


def package(
    code: bytes,
    *,
    payload: bytes = b"payload",
    gas: int = 100_000,
    auth_code: bytes | None = None,
    items: int = 1,
    export_count: int = 0,
) -> tuple[WorkPackage, dict[int, ServiceAccount]]:
    """A package with `items` items of service SERVICE running `code`, and the accounts
    holding that code (and `auth_code`, if given, at AUTH_HOST)."""
    preimage = code_preimage(code)
    auth_preimage = code_preimage(auth_code if auth_code is not None else b"")
    item = WorkItem(SERVICE, blake2b_256(preimage), gas, 1000, export_count, payload, (), ())
    context = RefineContext(bytes(32), bytes(32), bytes(32), bytes(32), ANCHOR_SLOT, ())
    work_package = WorkPackage(
        AUTH_HOST, blake2b_256(auth_preimage), context, b"token", b"config", (item,) * items
    )
    accounts = {SERVICE: account(SERVICE, {preimage: [ANCHOR_SLOT]})}
    if auth_code is not None:
        accounts[AUTH_HOST] = account(AUTH_HOST, {auth_preimage: [ANCHOR_SLOT - 5]})
    return work_package, accounts


def run_refine(
    code: bytes,
    mode: Mode = "fast",
    *,
    accounts: Mapping[int, ServiceAccount] | None = None,
    export_offset: int = 0,
    **kwargs: object,
) -> RefineOutcome:
    work_package, own = package(code, **kwargs)  # type: ignore[arg-type]
    for service, extra in (accounts or {}).items():
        mine = own.get(service)
        own[service] = extra if mine is None else ServiceAccount(
            mine.info, {**mine.entries, **extra.entries}
        )
    return refine(1, 0, work_package, b"trace", [[]], export_offset, own, [[]], TINY, mode=mode)


# -- Ψ_R ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_refine_echoes_its_arguments(mode: Mode) -> None:
    code = standard(RETURN_ARGS)
    work_package, accounts = package(code, payload=b"hello")
    outcome = refine(1, 0, work_package, b"", [[]], 0, accounts, [[]], TINY, mode=mode)
    expected = (
        b"\x01\x00\x07" + b"\x05hello" + blake2b_256(WORK_PACKAGE.encode(work_package))
    )
    assert outcome == RefineOutcome(Variant("ok", expected), (), 1)
    assert refine_arguments(1, 0, work_package) == expected


def test_refine_arguments_use_compact_naturals() -> None:
    work_package, _ = package(b"", payload=bytes(200), items=2)
    args = refine_arguments(300, 1, work_package)
    assert args[:4] == encode_natural(300) + b"\x01\x07"
    assert args[4:6] == encode_natural(200)


def test_refine_gas_is_one_per_instruction_and_ten_per_host_call() -> None:
    code = standard("ecalli 0\necalli 0\necalli 77\n" + HALT)
    assert run_refine(code).gas_used == 4 + 3 * 10


@pytest.mark.parametrize("mode", MODES)
def test_refine_out_of_gas_and_panic_drop_exports(mode: Mode) -> None:
    looping = standard("loop:\njump loop")
    outcome = run_refine(looping, mode, gas=50)
    assert outcome == RefineOutcome(Variant("out_of_gas"), (), 50)
    panicking = standard(f"load_imm_64 r7, {ARGS_ADDRESS}\nload_imm r8, 1\necalli 7\ntrap")
    assert run_refine(panicking, mode) == RefineOutcome(Variant("panic"), (), 14)


def test_refine_host_call_without_enough_gas_is_out_of_gas() -> None:
    outcome = run_refine(standard("ecalli 0\n" + HALT), gas=11)
    assert outcome == RefineOutcome(Variant("out_of_gas"), (), 11)
    outcome = run_refine(standard("ecalli 0\n" + HALT), gas=12)
    assert outcome.result == Variant("ok", b"")  # ω_7 = 0 is not readable: empty output


def test_refine_code_lookup_errors() -> None:
    code = standard(HALT)
    work_package, accounts = package(code)

    def result(accounts: Mapping[int, ServiceAccount]) -> RefineOutcome:
        return refine(0, 0, work_package, b"", [[]], 0, accounts, [[]], TINY)

    bad = RefineOutcome(Variant("bad_code"), (), 0)
    assert result({}) == bad  # no such service
    assert result({SERVICE: account(SERVICE, {})}) == bad  # no such preimage
    preimage = code_preimage(code)
    for slots in ([], [ANCHOR_SLOT + 1], [10, ANCHOR_SLOT], [10, 20, ANCHOR_SLOT + 1]):
        assert result({SERVICE: account(SERVICE, {preimage: slots})}) == bad
    for slots in ([ANCHOR_SLOT], [10, ANCHOR_SLOT + 1], [10, 20, ANCHOR_SLOT]):
        assert result({SERVICE: account(SERVICE, {preimage: slots})}).result.tag == "ok"


def test_refine_code_oversize() -> None:
    code = standard(HALT, ro=bytes(MAX_SERVICE_CODE))
    assert run_refine(code) == RefineOutcome(Variant("code_oversize"), (), 0)


def test_refine_malformed_code_panics_without_gas() -> None:
    assert run_refine(b"\x01\x02") == RefineOutcome(Variant("panic"), (), 0)


# -- gas metered per instruction (A.1) in Ψ_R and Ψ_I -------------------------------------------

ADDS = "add_imm_64 r1, r1, 1\n"
MID_BLOCK_PANIC = ADDS + "load_ind_u8 r2, r3, 0\n" + ADDS * 3 + HALT
"""The load from address 0 panics inside a six-instruction block."""
RETURN_GAS_SEEN = "ecalli 0\nstore_u64 r7, 0x20000\nload_imm r7, 0x20000\nload_imm r8, 8\n" + HALT
"""Calls `gas` first thing and returns what it saw, E_8(ω_7), in a five-instruction block."""
EXPORT_FROM_ZERO = "load_imm r7, 0\necalli 7\n" + ADDS * 20 + HALT
"""Exports from unreadable address 0 (the call panics) at the start of a 23-instruction block."""


@pytest.mark.parametrize("mode", MODES)
def test_refine_panic_inside_a_block_charges_only_what_ran(mode: Mode) -> None:
    assert run_refine(standard(MID_BLOCK_PANIC), mode) == RefineOutcome(Variant("panic"), (), 2)


@pytest.mark.parametrize("mode", MODES)
def test_refine_host_call_sees_the_gas_of_the_instructions_run(mode: Mode) -> None:
    outcome = run_refine(standard(RETURN_GAS_SEEN, rw=bytes(8)), mode, gas=1000)
    assert outcome.result == Variant("ok", (1000 - 1 - 10).to_bytes(8, "little"))
    assert outcome.gas_used == 5 + 10


@pytest.mark.parametrize("mode", MODES)
def test_refine_gas_running_out_inside_a_block(mode: Mode) -> None:
    # 15 gas cannot pay the 23-instruction block, yet its first instructions run: the export
    # panics with 12 gas used; with 11 the call itself cannot be paid (all gas used)
    code = standard(EXPORT_FROM_ZERO)
    assert run_refine(code, mode, gas=15) == RefineOutcome(Variant("panic"), (), 12)
    assert run_refine(code, mode, gas=11) == RefineOutcome(Variant("out_of_gas"), (), 11)
    # a host call leaving too little for the rest of its block: gas out part-way
    code = standard("ecalli 0\n" + ADDS * 5 + HALT)
    assert run_refine(code, mode, gas=13) == RefineOutcome(Variant("out_of_gas"), (), 13)


@pytest.mark.parametrize("mode", MODES)
def test_is_authorized_panic_inside_a_block_charges_only_what_ran(mode: Mode) -> None:
    work_package, accounts = package(b"", auth_code=standard(MID_BLOCK_PANIC))
    outcome = is_authorized(work_package, 0, accounts, TINY, mode=mode)
    assert (outcome.result, outcome.gas_used) == (Variant("panic"), 2)


@pytest.mark.parametrize("mode", MODES)
def test_is_authorized_host_call_sees_the_gas_of_the_instructions_run(mode: Mode) -> None:
    work_package, accounts = package(b"", auth_code=standard(RETURN_GAS_SEEN, rw=bytes(8)))
    outcome = is_authorized(work_package, 0, accounts, TINY, gas=1000, mode=mode)
    assert outcome.result == Variant("ok", (1000 - 1 - 10).to_bytes(8, "little"))
    assert outcome.gas_used == 5 + 10


@pytest.mark.parametrize("mode", MODES)
def test_is_authorized_gas_running_out_inside_a_block(mode: Mode) -> None:
    # `fetch` of the package into unmapped address 0 panics: reached with 20 gas, though
    # its 25-instruction block costs more
    text = "load_imm r7, 0\nload_imm r8, 0\nload_imm r9, 256\nload_imm r10, 7\necalli 1\n"
    work_package, accounts = package(b"", auth_code=standard(text + ADDS * 19 + HALT))
    outcome = is_authorized(work_package, 0, accounts, TINY, gas=20, mode=mode)
    assert (outcome.result, outcome.gas_used) == (Variant("panic"), 5 + 10)
    outcome = is_authorized(work_package, 0, accounts, TINY, gas=14, mode=mode)
    assert (outcome.result, outcome.gas_used) == (Variant("out_of_gas"), 14)


# -- Ψ_I ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_is_authorized_gets_the_core_and_returns_the_trace(mode: Mode) -> None:
    work_package, accounts = package(b"", auth_code=standard(RETURN_ARGS))
    outcome = is_authorized(work_package, 300, accounts, TINY, mode=mode)
    assert outcome.result == Variant("ok", (300).to_bytes(2, "little"))
    assert outcome.gas_used == 1


def test_is_authorized_host_calls_and_gas() -> None:
    text = "ecalli 0\necalli 6\n" + "store_u64 r7, 0x20000\nload_imm r7, 0x20000\n"
    text += "load_imm r8, 8\n" + HALT
    work_package, accounts = package(b"", auth_code=standard(text, rw=bytes(8)))
    outcome = is_authorized(work_package, 0, accounts, TINY)
    assert outcome.result == Variant("ok", (2**64 - 2).to_bytes(8, "little"))  # WHAT
    assert outcome.gas_used == 6 + 20


def test_is_authorized_errors() -> None:
    work_package, accounts = package(b"", auth_code=standard("loop:\njump loop"))
    assert authorization_code(work_package, accounts) is not None
    outcome = is_authorized(work_package, 0, accounts, TINY, gas=1000)
    assert (outcome.result, outcome.gas_used) == (Variant("out_of_gas"), 1000)
    work_package, accounts = package(b"", auth_code=standard("trap"))
    outcome = is_authorized(work_package, 0, accounts, TINY)
    assert (outcome.result, outcome.gas_used) == (Variant("panic"), 1)
    work_package, accounts = package(b"")
    outcome = is_authorized(work_package, 0, accounts, TINY)
    assert (outcome.result, outcome.gas_used) == (Variant("bad_code"), 0)
    big = standard(HALT, ro=bytes(MAX_AUTH_CODE))
    work_package, accounts = package(b"", auth_code=big)
    outcome = is_authorized(work_package, 0, accounts, TINY)
    assert (outcome.result, outcome.gas_used) == (Variant("code_oversize"), 0)


def test_is_authorized_fetch_sees_only_the_package() -> None:
    lines = []
    for k, kind in enumerate((7, 1, 2, 13, 9)):
        lines += [
            "load_imm r7, 0x20100", "load_imm r8, 0", "load_imm r9, 256",
            f"load_imm r10, {kind}", "load_imm r11, 0", "ecalli 1",
            f"store_u64 r7, {0x20000 + 8 * k}",
        ]
    lines += ["load_imm r7, 0x20000", "load_imm r8, 40", HALT]
    work_package, accounts = package(b"", auth_code=standard("\n".join(lines), rw=bytes(512)))
    outcome = is_authorized(work_package, 0, accounts, TINY)
    values = [int.from_bytes(outcome.result.value[8 * k : 8 * k + 8], "little") for k in range(5)]
    none = 2**64 - 1
    assert values == [len(WORK_PACKAGE.encode(work_package)), none, none, 7, len(b"token")]


# -- the work digests of a PVM-code package (eq. 14.11, 14.12) ---------------------------------

EXPORT_ARGS_RETURN_INDEX = standard(
    f"ecalli 7\nstore_u64 r7, 0x20000\nload_imm r7, 0x20000\nload_imm r8, 8\n{HALT}",
    rw=bytes(8),
)
"""Exports its argument string as a segment and returns the segment index E_8(ω_7)."""


def refined(code: bytes, **kwargs: object) -> RefinedPackage:
    work_package, accounts = package(code, auth_code=standard(RETURN_ARGS), **kwargs)
    items = len(work_package.items)
    return refine_package(work_package, 1, accounts, [[]] * items, [[]] * items, TINY)


@pytest.mark.parametrize("mode", MODES)
def test_refine_package_digests_and_exports(mode: Mode) -> None:
    work_package, accounts = package(
        EXPORT_ARGS_RETURN_INDEX, auth_code=standard(RETURN_ARGS), items=2, export_count=1
    )
    done = refine_package(work_package, 1, accounts, [[], []], [[], []], TINY, mode=mode)
    assert (done.auth_trace, done.auth_gas_used) == (b"\x01\x00", 1)
    item = work_package.items[0]
    assert [r.result for r in done.results] == [
        Variant("ok", (0).to_bytes(8, "little")),
        Variant("ok", (1).to_bytes(8, "little")),  # ℓ counts item 0's declared export
    ]
    first = done.results[0]
    assert first == WorkResult(
        SERVICE, item.code_hash, blake2b_256(b"payload"), 1000, first.result,
        RefineLoad(5 + 10, 0, 0, 0, 1),
    )
    for j in range(2):
        args = refine_arguments(1, j, work_package)
        assert done.exports[j] == (args + bytes(SEGMENT_SIZE - len(args)),)


def test_refine_package_bad_exports_and_failures_export_zero_segments() -> None:
    done = refined(EXPORT_ARGS_RETURN_INDEX, export_count=2)
    assert done.results[0].result == Variant("bad_exports")
    assert done.exports == ((ZERO_SEGMENT, ZERO_SEGMENT),)
    done = refined(standard("trap"), export_count=0)
    assert (done.results[0].result, done.exports) == (Variant("panic"), ((),))
    done = refined(standard("trap"), export_count=1)  # eq. 14.12: |e| = 0 ≠ w_e
    assert (done.results[0].result, done.exports) == (Variant("bad_exports"), ((ZERO_SEGMENT,),))
    done = refined(standard("loop:\njump loop"), gas=100)
    assert done.results[0].result == Variant("out_of_gas")
    assert done.results[0].refine_load.gas_used == 100


def test_refine_package_output_oversize() -> None:
    size = 30_000
    code = standard(f"load_imm r7, 0x20000\nload_imm r8, {size}\n{HALT}", rw=bytes(size))
    done = refined(code, items=2)
    assert [r.result.tag for r in done.results] == ["ok", "output_oversize"]
    assert len(done.results[0].result.value) == size
    assert MAX_REPORT_BLOBS < 2 * size + 2


def test_refine_package_requires_authorization() -> None:
    work_package, accounts = package(standard(HALT), auth_code=standard("trap"))
    with pytest.raises(NotAuthorized):
        refine_package(work_package, 0, accounts, [[]], [[]], TINY)
    work_package, accounts = package(standard(HALT))
    with pytest.raises(NotAuthorized):
        refine_package(work_package, 0, accounts, [[]], [[]], TINY)


def test_results_encode_as_work_exec_results() -> None:
    outcomes = [
        run_refine(standard(RETURN_ARGS), payload=b"").result,
        run_refine(standard("loop:\njump loop"), gas=10).result,
        run_refine(standard("trap")).result,
        refined(EXPORT_ARGS_RETURN_INDEX, export_count=2).results[0].result,
        Variant("output_oversize"),
        refine(0, 0, package(standard(HALT))[0], b"", [[]], 0, {}, [[]], TINY).result,
        run_refine(standard(HALT, ro=bytes(MAX_SERVICE_CODE))).result,
    ]
    encoded = [WORK_EXEC_RESULT.encode(result) for result in outcomes]
    assert [e[0] for e in encoded] == list(range(7))
    assert encoded[0][1:2] == encode_natural(len(outcomes[0].value))
    assert encoded[1:] == [bytes((k,)) for k in range(1, 7)]
