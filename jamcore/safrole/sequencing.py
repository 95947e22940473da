"""The slot-sealer series gamma_s: outside-in ticket order and fallback keys (graypaper 6.5)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from jamcore.crypto.hashing import blake2b_256
from jamcore.safrole.epochs import epoch_and_phase, posterior_history, rotated_validators
from jamcore.safrole.state import (
    FallbackSeries,
    SafroleState,
    SealingKeySeries,
    TicketSeries,
    ValidatorKey,
)
from jamcore.spec import ChainSpec

T = TypeVar("T")


def outside_in(items: Sequence[T]) -> tuple[T, ...]:
    """Z(s) = [s_0, s_|s|-1, s_1, s_|s|-2, ...]: the outside-in sequencer (eq. 6.25)."""
    ordered: list[T] = []
    low, high = 0, len(items) - 1
    while low <= high:
        ordered.append(items[low])
        if low != high:
            ordered.append(items[high])
        low, high = low + 1, high - 1
    return tuple(ordered)


def fallback_keys(
    entropy: bytes, validators: Sequence[ValidatorKey], spec: ChainSpec
) -> tuple[bytes, ...]:
    """F(r, k): for each slot i of the epoch, the Bandersnatch key of validator
    E_4^-1(H(r ++ E_4(i))[..4]) mod |k| (eq. 6.26)."""
    count = len(validators)
    return tuple(
        validators[
            int.from_bytes(blake2b_256(entropy + i.to_bytes(4, "little"))[:4], "little") % count
        ].bandersnatch
        for i in range(spec.epoch_length)
    )


def posterior_sealing_keys(state: SafroleState, slot: int, spec: ChainSpec) -> SealingKeySeries:
    """gamma'_s for a block at `slot` (eq. 6.24): the outside-in accumulator when the prior
    epoch's contest closed with it full, the prior series within an epoch, else fallback keys
    F(eta'_2, kappa'). It does not depend on the block's entropy, tickets or offenders."""
    epoch, phase = epoch_and_phase(state.slot, spec)
    new_epoch, _ = epoch_and_phase(slot, spec)
    if new_epoch == epoch:
        return state.sealing_keys
    if (
        new_epoch == epoch + 1
        and phase >= spec.contest_duration
        and len(state.ticket_accumulator) == spec.epoch_length
    ):
        return TicketSeries(outside_in(state.ticket_accumulator))
    _, active, _ = rotated_validators(state, True, ())
    _, eta2, _ = posterior_history(state.entropy, True)
    return FallbackSeries(fallback_keys(eta2, active, spec))
