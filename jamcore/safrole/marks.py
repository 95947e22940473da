"""The header markers: the epoch mark H_e and the winning-tickets mark H_w (graypaper 6.6)."""

from __future__ import annotations

from jamcore.safrole.epochs import epoch_and_phase, is_new_epoch
from jamcore.safrole.sequencing import outside_in
from jamcore.safrole.state import (
    EpochMark,
    EpochMarkValidatorKeys,
    SafroleState,
    TicketBody,
    ValidatorKey,
)
from jamcore.spec import ChainSpec


def epoch_mark(
    state: SafroleState, slot: int, pending: tuple[ValidatorKey, ...], spec: ChainSpec
) -> EpochMark | None:
    """H_e: on a new epoch (eta_0, eta_1, [(k_b, k_e) | k <- gamma'_k]), else none (eq. 6.27)."""
    if not is_new_epoch(state.slot, slot, spec):
        return None
    return EpochMark(
        entropy=state.entropy[0],
        tickets_entropy=state.entropy[1],
        validators=tuple(EpochMarkValidatorKeys(k.bandersnatch, k.ed25519) for k in pending),
    )


def tickets_mark(state: SafroleState, slot: int, spec: ChainSpec) -> tuple[TicketBody, ...] | None:
    """H_w: Z(gamma_a) in the first block of an epoch's tail (m < Y <= m') when the
    accumulator is full, else none (eq. 6.28)."""
    epoch, phase = epoch_and_phase(state.slot, spec)
    new_epoch, new_phase = epoch_and_phase(slot, spec)
    if (
        new_epoch == epoch
        and phase < spec.contest_duration <= new_phase
        and len(state.ticket_accumulator) == spec.epoch_length
    ):
        return outside_in(state.ticket_accumulator)
    return None
