"""The Service protocol: refine (stateless, in-core) and accumulate (stateful, on-chain).

Graypaper sections 14 (refinement) and 12 (accumulation) define services as PVM code with
two entry points. This module fixes the Python-side contract that both PVM-blob services
and native Python services (the shielded pool) implement, and the glue that turns a work
item into a work result (`refine_item`, eq. 14.11's item-to-digest mapping) and applies a
block's results to service storage (`accumulate_results`).

Native services are deterministic and metered: they charge gas through a `GasMeter` for
each unit of work, so a native refine that exceeds its limit ends in `out_of_gas` exactly
like a PVM program would, and its result is the same on every node.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from jamcore.codec import Variant
from jamcore.state.keys import storage_key
from jamcore.work.package import RefineContext, WorkItem
from jamcore.work.report import WorkResult, item_digest


class OutOfGas(Exception):
    """The metered computation exceeded its gas limit."""


class ServicePanic(Exception):
    """The service rejected its input: the work result is `panic` (eq. C.32 code 2)."""


class GasMeter:
    """Counts gas down from a limit; `charge` raises OutOfGas when it would go below zero."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def charge(self, amount: int) -> None:
        if amount < 0:
            raise ValueError("gas charges are non-negative")
        if self.used + amount > self.limit:
            self.used = self.limit
            raise OutOfGas(f"gas limit {self.limit} exceeded")
        self.used += amount

    @property
    def remaining(self) -> int:
        return self.limit - self.used


@dataclass(frozen=True)
class AccumulateOperand:
    """One refined work item as accumulation sees it (the operand tuple of eq. 12.13)."""

    package_hash: bytes
    payload_hash: bytes
    gas_limit: int
    result: Variant
    """`Variant("ok", output)` or one of the error variants."""


class ServiceStorage:
    """A service's key -> value storage as seen by accumulate: reads fall through to the
    committed state; writes are buffered and become `changes` only if accumulate succeeds.

    Keys are the service's own storage keys; `changes` maps them to JAM state keys
    C(s, E_4(2^32-1) ++ k) (graypaper D.1) so they live in the merklized state.
    """

    def __init__(self, service_id: int, committed: Mapping[bytes, bytes]) -> None:
        self.service_id = service_id
        self._committed = committed
        self._writes: dict[bytes, bytes | None] = {}

    def get(self, key: bytes) -> bytes | None:
        if key in self._writes:
            return self._writes[key]
        return self._committed.get(self.state_key(key))

    def set(self, key: bytes, value: bytes | None) -> None:
        """Write (or delete, with None) one storage item."""
        self._writes[key] = value

    def state_key(self, key: bytes) -> bytes:
        return storage_key(self.service_id, key)

    def written(self) -> Iterator[tuple[bytes, bytes | None]]:
        """The buffered writes by service key, in write order."""
        yield from self._writes.items()

    @property
    def changes(self) -> dict[bytes, bytes | None]:
        """The buffered writes by JAM state key."""
        return {self.state_key(k): v for k, v in self._writes.items()}


class Service(Protocol):
    """A JAM service: the shielded pool and any PVM-blob service implement this."""

    service_id: int
    code_hash: bytes

    def refine(self, payload: bytes, context: RefineContext, gas: GasMeter) -> bytes:
        """Stateless, deterministic check and transformation of one work item's payload;
        returns the output blob carried in the work result. Raise ServicePanic to reject."""
        ...

    def accumulate(
        self, slot: int, operands: Sequence[AccumulateOperand], storage: ServiceStorage,
        gas: GasMeter,
    ) -> None:
        """Apply refined results to the service's storage (writes go through `storage`)."""
        ...


def refine_item(service: Service, item: WorkItem, context: RefineContext) -> WorkResult:
    """Run refine for one work item and build its work result (eq. 14.11, item-to-digest).

    An exhausted meter gives `out_of_gas`, a rejection `panic`; either way the node goes on.
    """
    gas = GasMeter(item.refine_gas_limit)
    try:
        output = service.refine(item.payload, context, gas)
        result = Variant("ok", output)
    except OutOfGas:
        result = Variant("out_of_gas")
    except ServicePanic:
        result = Variant("panic")
    return item_digest(item, result, gas.used)


def accumulate_results(
    service: Service,
    slot: int,
    operands: Sequence[AccumulateOperand],
    committed: Mapping[bytes, bytes],
    gas_limit: int,
) -> dict[bytes, bytes | None]:
    """Accumulate one service's operands; returns its state changes, or none at all if
    accumulate ran out of gas or panicked (eq. 12.17: a failed accumulation has no effect)."""
    storage = ServiceStorage(service.service_id, committed)
    try:
        service.accumulate(slot, operands, storage, GasMeter(gas_limit))
    except (OutOfGas, ServicePanic):
        return {}
    return storage.changes
