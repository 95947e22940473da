"""The assembled sample service under Psi_R and Psi_A directly (graypaper B.5, B.9), in both
PVM modes: refine hashes the payload, accumulate writes ok outputs and skips the rest."""

from __future__ import annotations

import pytest

from jamcore.codec import Variant
from jamcore.crypto.hashing import blake2b_256
from jamcore.pvm.host import MODES, Mode
from jamcore.pvm.invocations.accumulate import accumulate
from jamcore.pvm.invocations.context import DeferredTransfer, OperandTuple
from jamcore.pvm.invocations.partial_state import PartialState
from jamcore.pvm.invocations.refine import refine
from jamcore.spec import TINY
from jamcore.state.keys import preimage_key, request_key
from jamcore.types import encode_request_status
from jamcore.types.services import ServiceAccount, ServiceInfo
from jamcore.work.package import RefineContext, WorkItem, WorkPackage
from shielded.node.sample_service import (
    SAMPLE_OUTPUT_KEY,
    fnv1a_64,
    sample_refine_output,
    sample_service_blob,
)

SERVICE = 300
SLOT = 50


def account() -> ServiceAccount:
    blob = sample_service_blob()
    code_hash = blake2b_256(blob)
    entries = {
        preimage_key(SERVICE, code_hash): blob,
        request_key(SERVICE, code_hash, len(blob)): encode_request_status((1,)),
    }
    info = ServiceInfo(0, code_hash, 10**9, 0, 0, 0, 0, 0, 0, 0, 0)
    return ServiceAccount(info, entries)


def test_fnv1a_reference_values() -> None:
    assert fnv1a_64(b"") == 0xCBF29CE484222325
    assert fnv1a_64(b"a") == 0xAF63DC4C8601EC8C


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("size", [0, 5, 127, 128, 300, 20_000])
def test_refine_returns_the_payload_hash(mode: Mode, size: int) -> None:
    payload = bytes((7 * i + 3) % 256 for i in range(size))  # 128+ octets: a 2-octet length
    item = WorkItem(SERVICE, blake2b_256(sample_service_blob()), 10**7, 1000, 0, payload, (), ())
    context = RefineContext(bytes(32), bytes(32), bytes(32), bytes(32), SLOT, ())
    package = WorkPackage(9, bytes(32), context, b"", b"", (item,))
    accounts = {SERVICE: account()}
    outcome = refine(1, 0, package, b"", [[]], 0, accounts, [[]], TINY, mode=mode)
    assert outcome.result == Variant("ok", sample_refine_output(payload))


def operand(result: Variant, gas: int = 300_000, trace: bytes = b"") -> OperandTuple:
    return OperandTuple(bytes(32), bytes(32), bytes(32), bytes(32), gas, trace, result)


@pytest.mark.parametrize("mode", MODES)
def test_accumulate_writes_ok_outputs_and_skips_the_rest(mode: Mode) -> None:
    inputs = [
        DeferredTransfer(3, SERVICE, 5, bytes(128), 10),
        operand(Variant("ok", b"first")),
        operand(Variant("panic"), gas=5, trace=b"xyz"),
        operand(Variant("ok", bytes(range(200))), gas=2**40, trace=b"t" * 300),
    ]
    state = PartialState({SERVICE: account()}, {}, {}, None, None, 0, (0, 0), 0, 0, {})
    outcome = accumulate(
        state, SLOT, SERVICE, 100_000, inputs, entropy=bytes(32), spec=TINY, mode=mode
    )
    view = outcome.state.account(SERVICE)
    assert view is not None
    assert view.storage(SAMPLE_OUTPUT_KEY) == bytes(range(200))  # the last ok output
    assert view.info.balance == 10**9 + 5  # the transfer was credited (eq. B.9)
    assert 0 < outcome.gas_used < 100_000 and outcome.yielded is None
