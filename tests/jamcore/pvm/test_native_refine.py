"""Native refine (jamcore.pvm.invocations.native_refine): Python refine code run through
the refine host calls of eq. B.6, against the PVM's Ψ_R on the same work package."""

from __future__ import annotations

from jamcore.codec import Variant, encode_natural
from jamcore.crypto.hashing import blake2b_256
from jamcore.pvm.host_calls.general import SEGMENT_SIZE
from jamcore.pvm.invocations.native_refine import RefineHost
from jamcore.pvm.invocations.refine import RefineOutcome, refine, refine_arguments
from jamcore.spec import TINY
from jamcore.work.package import WORK_PACKAGE, WorkPackage
from jamcore.work.refine_pvm import refine_package
from tests.jamcore.pvm.test_invocations import RETURN_ARGS, code_preimage, package, standard

# -- refine -------------------------------------------------------------------------------------


class Refiner:
    """A native refine echoing its arguments as the PVM's RETURN_ARGS does."""

    def __init__(self, exports: int = 0, burn: int = 0, fail: bool = False) -> None:
        self.exports, self.burn, self.fail = exports, burn, fail
        self.seen: list[object] = []

    def refine(
        self, host: RefineHost, core: int, item_index: int, service: int, payload: bytes,
        package_hash: bytes,
    ) -> bytes:
        self.seen = [host.fetch(7), host.fetch(13, 0)]
        code_hash = blake2b_256(code_preimage(standard(RETURN_ARGS)))
        self.seen.append(host.historical_lookup(code_hash))
        for i in range(self.exports):
            assert host.export(bytes([i])) == i
        host.charge(self.burn)
        if self.fail:
            raise ValueError("rejected")
        return b"".join(
            [encode_natural(core), encode_natural(item_index), encode_natural(service),
             encode_natural(len(payload)), payload, package_hash]
        )


def refine_with(native: Refiner | None, **kwargs: object) -> tuple[WorkPackage, RefineOutcome]:
    code = standard(RETURN_ARGS)
    work_package, accounts_ = package(code, **kwargs)  # type: ignore[arg-type]
    natives = None if native is None else {work_package.items[0].code_hash: native}
    outcome = refine(
        1, 0, work_package, b"trace", [[]], 0, accounts_, [[]], TINY, natives=natives  # type: ignore[arg-type]
    )
    return work_package, outcome


def test_native_refine_matches_the_pvm_and_exports() -> None:
    native = Refiner(exports=2)
    work_package, outcome = refine_with(native, export_count=2)
    _, pvm = refine_with(None, export_count=2)
    assert outcome.result == pvm.result == Variant("ok", refine_arguments(1, 0, work_package))
    assert outcome.exports == tuple(bytes([i]) + bytes(SEGMENT_SIZE - 1) for i in range(2))
    assert native.seen[:2] == [WORK_PACKAGE.encode(work_package), b"payload"]
    assert native.seen[2] == code_preimage(standard(RETURN_ARGS))
    assert outcome.gas_used == 10 * 5 and pvm.gas_used == 1


def test_native_refine_out_of_gas_and_panic_drop_exports() -> None:
    _, outcome = refine_with(Refiner(exports=1, burn=10**9), gas=1000)
    assert outcome.result == Variant("out_of_gas") and outcome.exports == ()
    assert outcome.gas_used == 1000
    _, outcome = refine_with(Refiner(exports=1, fail=True))
    assert outcome.result == Variant("panic") and outcome.exports == ()
    assert outcome.gas_used == 40


def test_refine_package_threads_natives() -> None:
    code = standard(RETURN_ARGS)
    work_package, accounts_ = package(code, auth_code=standard(RETURN_ARGS))
    natives = {work_package.items[0].code_hash: Refiner()}
    native = refine_package(work_package, 1, accounts_, [[]], [[]], TINY, natives=natives)  # type: ignore[arg-type]
    pvm = refine_package(work_package, 1, accounts_, [[]], [[]], TINY)
    assert native.results[0].result == pvm.results[0].result
    assert native.results[0].refine_load.gas_used == 30
