"""The Service protocol glue: refine_item results and all-or-nothing accumulation."""

from __future__ import annotations

from collections.abc import Sequence

from jamcore.codec import Variant
from jamcore.crypto.hashing import blake2b_256
from jamcore.work.package import ExtrinsicSpec, ImportSpec, RefineContext, WorkItem
from jamcore.work.service import (
    AccumulateOperand,
    GasMeter,
    ServicePanic,
    ServiceStorage,
    accumulate_results,
    refine_item,
)

CONTEXT = RefineContext(bytes(32), bytes(32), bytes(32), bytes(32), 0, ())


class CounterService:
    """A tiny native service: refine doubles a number (1 gas per bit), accumulate sums."""

    service_id = 7
    code_hash = blake2b_256(b"counter")

    def refine(self, payload: bytes, context: RefineContext, gas: GasMeter) -> bytes:
        if len(payload) != 8:
            raise ServicePanic("payload must be 8 bytes")
        value = int.from_bytes(payload, "little")
        gas.charge(value.bit_length())
        return (2 * value).to_bytes(9, "little")

    def accumulate(
        self,
        slot: int,
        operands: Sequence[AccumulateOperand],
        storage: ServiceStorage,
        gas: GasMeter,
    ) -> None:
        total = int.from_bytes(storage.get(b"total") or bytes(9), "little")
        for operand in operands:
            gas.charge(10)
            if operand.result.tag == "ok":
                total += int.from_bytes(operand.result.value, "little")
        storage.set(b"total", total.to_bytes(9, "little"))
        storage.set(b"last_slot", slot.to_bytes(4, "little"))


def item(payload: bytes, gas: int = 1000) -> WorkItem:
    return WorkItem(
        7,
        CounterService.code_hash,
        gas,
        100,
        0,
        payload,
        (ImportSpec(bytes(32), 3),),
        (ExtrinsicSpec(bytes(32), 11),),
    )


def test_refine_item_ok_with_load() -> None:
    result = refine_item(CounterService(), item((21).to_bytes(8, "little")), CONTEXT)
    assert result.result == Variant("ok", (42).to_bytes(9, "little"))
    assert result.payload_hash == blake2b_256((21).to_bytes(8, "little"))
    assert result.refine_load.gas_used == 5
    assert (result.refine_load.imports, result.refine_load.extrinsic_size) == (1, 11)


def test_refine_item_out_of_gas_and_panic() -> None:
    assert refine_item(CounterService(), item(b"\xff" * 8, gas=3), CONTEXT).result.tag == (
        "out_of_gas"
    )
    assert refine_item(CounterService(), item(b"short"), CONTEXT).result.tag == "panic"


def test_accumulate_changes_use_jam_storage_keys() -> None:
    operands = [
        AccumulateOperand(bytes(32), bytes(32), 100, Variant("ok", (5).to_bytes(9, "little"))),
        AccumulateOperand(bytes(32), bytes(32), 100, Variant("panic")),
    ]
    changes = accumulate_results(CounterService(), 3, operands, {}, gas_limit=100)
    storage = ServiceStorage(7, {k: v for k, v in changes.items() if v is not None})
    assert int.from_bytes(storage.get(b"total") or b"", "little") == 5
    assert len(next(iter(changes))) == 31


def test_accumulate_out_of_gas_changes_nothing() -> None:
    operands = [AccumulateOperand(bytes(32), bytes(32), 1, Variant("ok", bytes(9)))] * 5
    assert accumulate_results(CounterService(), 3, operands, {}, gas_limit=20) == {}
