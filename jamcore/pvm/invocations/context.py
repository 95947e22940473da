"""The accumulation context (graypaper 0.7.2 eq. B.7-B.8): deferred transfers, operand
tuples and the implications x = (s, e, i, t, y, p) of one service's accumulation."""

from __future__ import annotations

from dataclasses import dataclass

from jamcore.codec import Variant, encode_natural
from jamcore.pvm.invocations.partial_state import AccountView, PartialState
from jamcore.work.report import WORK_EXEC_RESULT


@dataclass(frozen=True, slots=True)
class DeferredTransfer:
    """X (eq. 12.15): sender s, receiver d, amount a, memo m (W_T octets), gas g."""

    source: int
    dest: int
    amount: int
    memo: bytes
    gas: int

    def encode(self) -> bytes:
        """E(1, E_X(t)) (eq. C.31-C.33): an accumulation input that is a transfer."""
        return b"".join(
            [
                b"\x01",
                self.source.to_bytes(4, "little"),
                self.dest.to_bytes(4, "little"),
                self.amount.to_bytes(8, "little"),
                self.memo,
                self.gas.to_bytes(8, "little"),
            ]
        )


@dataclass(frozen=True, slots=True)
class OperandTuple:
    """U (eq. 12.14): package hash p, segment root e, authorizer a, payload hash y, gas
    limit g, authorizer trace t and the work result l."""

    package_hash: bytes
    segment_root: bytes
    authorizer: bytes
    payload_hash: bytes
    gas_limit: int
    auth_trace: bytes
    result: Variant

    def encode(self) -> bytes:
        """E(0, E_U(o)) (eq. C.31-C.33): an accumulation input that is an operand tuple."""
        return b"".join(
            [
                b"\x00",
                self.package_hash,
                self.segment_root,
                self.authorizer,
                self.payload_hash,
                encode_natural(self.gas_limit),
                WORK_EXEC_RESULT.encode(self.result),
                encode_natural(len(self.auth_trace)),
                self.auth_trace,
            ]
        )


AccumulationInput = OperandTuple | DeferredTransfer
"""I = U ∪ X (eq. 12.16)."""


class Implications:
    """L (eq. B.7): the accumulating service id s, the partial state e, the next free
    service id i, the deferred transfers t, the yield y and the provisions p."""

    __slots__ = ("id", "state", "next_free_id", "transfers", "yielded", "provisions")

    def __init__(
        self,
        service: int,
        state: PartialState,
        next_free_id: int,
        transfers: list[DeferredTransfer] | None = None,
        yielded: bytes | None = None,
        provisions: set[tuple[int, bytes]] | None = None,
    ) -> None:
        self.id = service
        self.state = state
        self.next_free_id = next_free_id
        self.transfers: list[DeferredTransfer] = [] if transfers is None else transfers
        self.yielded = yielded
        self.provisions: set[tuple[int, bytes]] = set() if provisions is None else provisions

    @property
    def own(self) -> AccountView | None:
        """x_s = (x_e)_d[x_s] for changing (eq. B.8)."""
        return self.state.account(self.id)

    def copy(self) -> Implications:
        """An independent copy: the checkpoint y' = x (Ω_C)."""
        return Implications(
            self.id,
            self.state.copy(),
            self.next_free_id,
            list(self.transfers),
            self.yielded,
            set(self.provisions),
        )


class ContextPair:
    """The invocation context (x, y) ∈ L²: the regular dimension x and the exceptional
    dimension y that only `checkpoint` moves forward (Appendix B.5)."""

    __slots__ = ("x", "y")

    def __init__(self, x: Implications, y: Implications) -> None:
        self.x = x
        self.y = y
