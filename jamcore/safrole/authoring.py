"""The validator's side of Safrole: making tickets and claiming slots (graypaper 6.4, 6.7).

A validator holding a Bandersnatch secret key
* makes its N tickets for the next epoch's contest: ring VRF proofs against gamma'_z on
  X_T ++ eta'_2 ++ attempt, anonymous within the pending validators' ring;
* picks the ones worth submitting (fresh, good enough to be kept, ascending, at most K);
* claims a slot when it holds the slot's winning ticket (its VRF output on the slot's seal
  input equals the ticket id) or the slot's fallback key, then seals with `sealing.py`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from jamcore.crypto.bandersnatch import public_from_secret, vrf_output
from jamcore.crypto.srs import Srs
from jamcore.safrole.epochs import (
    epoch_and_phase,
    is_new_epoch,
    posterior_history,
    rotated_validators,
)
from jamcore.safrole.errors import BadSlot, NotSlotAuthor, UnexpectedTicket, ensure
from jamcore.safrole.sealing import SlotSealer, slot_sealer
from jamcore.safrole.state import SafroleState, TicketBody, TicketEnvelope
from jamcore.safrole.tickets import ticket_vrf_input
from jamcore.safrole.transition import pending_ring
from jamcore.spec import ChainSpec


@dataclass(frozen=True)
class ProducedTicket:
    """One of a validator's tickets: its body (id = VRF output) and its extrinsic envelope."""

    body: TicketBody
    envelope: TicketEnvelope


@dataclass(frozen=True)
class SlotClaim:
    """A validator's right to author `sealer.slot`: its index in kappa' and the sealer."""

    author_index: int
    sealer: SlotSealer


def produce_tickets(
    state: SafroleState,
    slot: int,
    secret: bytes,
    spec: ChainSpec,
    offenders: Collection[bytes] = (),
    srs: Srs | None = None,
) -> tuple[ProducedTicket, ...]:
    """The N tickets of the validator holding `secret`, for a block at `slot` on top of
    `state`: ring proofs against gamma'_k on X_T ++ eta'_2 ++ attempt (eq. 6.29), sorted by
    id. Empty if the validator is not in gamma'_k; UnexpectedTicket once the contest closed."""
    ensure(slot > state.slot, BadSlot(f"slot {slot} does not come after {state.slot}"))
    new_epoch = is_new_epoch(state.slot, slot, spec)
    _, phase = epoch_and_phase(slot, spec)
    ensure(
        phase < spec.contest_duration,
        UnexpectedTicket(f"slot phase {phase} is past the contest (Y = {spec.contest_duration})"),
    )
    pending, _, _ = rotated_validators(state, new_epoch, offenders)
    public = public_from_secret(secret)
    members = [key.bandersnatch for key in pending]
    if public not in members:
        return ()
    ring = pending_ring(pending, srs)
    index = members.index(public)
    _, entropy2, _ = posterior_history(state.entropy, new_epoch)
    produced = []
    for attempt in range(spec.tickets_per_validator):
        vrf_input = ticket_vrf_input(entropy2, attempt)
        proof = ring.prove(index, secret, vrf_input, b"")
        produced.append(
            ProducedTicket(
                TicketBody(vrf_output(secret, vrf_input), attempt),
                TicketEnvelope(attempt, proof),
            )
        )
    return tuple(sorted(produced, key=lambda ticket: ticket.body.id))


def select_tickets(
    candidates: Sequence[ProducedTicket],
    accumulator: Sequence[TicketBody],
    spec: ChainSpec,
) -> tuple[TicketEnvelope, ...]:
    """The envelopes worth submitting in one block: not yet in gamma_a, scoring among the E
    best with it, ascending by id, at most K (eq. 6.30-6.35)."""
    known = {ticket.id for ticket in accumulator}
    fresh = sorted(
        {c.body.id: c for c in candidates if c.body.id not in known}.values(),
        key=lambda c: c.body.id,
    )
    cut = sorted([*known, *(c.body.id for c in fresh)])[: spec.epoch_length]
    kept = set(cut)
    chosen = [c for c in fresh if c.body.id in kept][: spec.max_tickets_per_extrinsic]
    return tuple(c.envelope for c in chosen)


def claim_slot(state: SafroleState, slot: int, secret: bytes, spec: ChainSpec) -> SlotClaim:
    """The claim of the validator holding `secret` on `slot`: it must hold the slot's ticket
    (Y on the seal input equals the ticket id, eq. 6.15) or its fallback key (eq. 6.16) and
    be in kappa'; NotSlotAuthor otherwise."""
    sealer = slot_sealer(state, slot, spec)
    public = public_from_secret(secret)
    members = [key.bandersnatch for key in sealer.validators]
    ensure(
        public in members,
        NotSlotAuthor(f"key 0x{public.hex()} is not among the slot {slot} validators"),
    )
    if sealer.ticket is not None:
        holds = vrf_output(secret, sealer.seal_input) == sealer.ticket.id
    else:
        holds = sealer.fallback_key == public
    ensure(holds, NotSlotAuthor(f"key 0x{public.hex()} may not seal slot {slot}"))
    return SlotClaim(author_index=members.index(public), sealer=sealer)


def slot_author(
    state: SafroleState, slot: int, secrets: Sequence[bytes], spec: ChainSpec
) -> tuple[int, SlotClaim] | None:
    """Which of `secrets` (a node's or a devnet's validator keys) may seal `slot`, if any:
    (position in `secrets`, claim)."""
    for position, secret in enumerate(secrets):
        try:
            return position, claim_slot(state, slot, secret, spec)
        except NotSlotAuthor:
            continue
    return None
