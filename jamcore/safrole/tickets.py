"""The tickets extrinsic and the ticket accumulator (graypaper section 6.7).

A ticket is a ring VRF proof, by one of the next epoch's validators, on
"jam_ticket_seal" ++ eta'_2 ++ attempt; its output is the ticket's identifier and score. The
accumulator keeps the E lowest identifiers seen this epoch.
"""

from __future__ import annotations

from collections.abc import Sequence

from jamcore.crypto.bandersnatch import BandersnatchError, Ring
from jamcore.safrole.errors import (
    BadTicketAttempt,
    BadTicketOrder,
    BadTicketProof,
    DuplicateTicket,
    UnexpectedTicket,
    UselessTicket,
    ensure,
)
from jamcore.safrole.state import TicketBody, TicketEnvelope
from jamcore.spec import TICKET_SEAL_CONTEXT, ChainSpec


def ticket_vrf_input(entropy: bytes, attempt: int) -> bytes:
    """X_T ++ eta ++ E_1(attempt): the VRF input of a ticket (eq. 6.29) and its seal (6.15)."""
    return TICKET_SEAL_CONTEXT + entropy + bytes([attempt])


def check_ticket_count(tickets: Sequence[TicketEnvelope], phase: int, spec: ChainSpec) -> None:
    """|E_T| <= K before the contest closes at phase Y, and 0 from then on (eq. 6.30)."""
    if phase >= spec.contest_duration:
        ensure(
            not tickets,
            UnexpectedTicket(
                f"{len(tickets)} tickets submitted at slot phase {phase}: the contest closed "
                f"at phase {spec.contest_duration}"
            ),
        )
    ensure(
        len(tickets) <= spec.max_tickets_per_extrinsic,
        UnexpectedTicket(
            f"{len(tickets)} tickets in one block, at most K = {spec.max_tickets_per_extrinsic}"
        ),
    )


def verify_tickets(
    tickets: Sequence[TicketEnvelope],
    ring: Ring,
    epoch_root: bytes,
    entropy: bytes,
    spec: ChainSpec,
) -> tuple[TicketBody, ...]:
    """n: the tickets' bodies, each id the output of its ring VRF proof against gamma'_z on
    X_T ++ eta'_2 ++ attempt, in strictly ascending id order (eq. 6.29, 6.31-6.32).

    `ring` must be the ring of gamma'_k's Bandersnatch keys: the bindings verify against
    the keys, so its commitment is checked to be the epoch root first.
    """
    for index, ticket in enumerate(tickets):
        ensure(
            0 <= ticket.attempt < spec.tickets_per_validator,
            BadTicketAttempt(
                f"ticket {index} has attempt {ticket.attempt}, expected below "
                f"N = {spec.tickets_per_validator}"
            ),
        )
    if not tickets:
        return ()
    ensure(
        ring.commitment == epoch_root,
        BadTicketProof("the pending validators' ring does not match the epoch root gamma_z"),
    )
    bodies = []
    for index, ticket in enumerate(tickets):
        try:
            ticket_id = ring.verify(
                ticket_vrf_input(entropy, ticket.attempt), b"", ticket.signature
            )
        except BandersnatchError as error:
            raise BadTicketProof(f"ticket {index} (attempt {ticket.attempt}): {error}") from error
        bodies.append(TicketBody(ticket_id, ticket.attempt))
    for index in range(1, len(bodies)):
        ensure(
            bodies[index - 1].id < bodies[index].id,
            BadTicketOrder(
                f"ticket {index} id 0x{bodies[index].id.hex()} does not exceed ticket "
                f"{index - 1} id 0x{bodies[index - 1].id.hex()}"
            ),
        )
    return tuple(bodies)


def merge_tickets(
    accumulator: Sequence[TicketBody], new: Sequence[TicketBody], spec: ChainSpec
) -> tuple[TicketBody, ...]:
    """gamma'_a: the E lowest-id tickets of the accumulator and the new ones; every new ticket
    must be fresh (eq. 6.33) and must survive the cut (eq. 6.34-6.35)."""
    known = {ticket.id for ticket in accumulator}
    for ticket in new:
        ensure(
            ticket.id not in known,
            DuplicateTicket(f"ticket 0x{ticket.id.hex()} is already in the accumulator"),
        )
    merged = tuple(sorted((*accumulator, *new), key=lambda ticket: ticket.id)[: spec.epoch_length])
    kept = {ticket.id for ticket in merged}
    for ticket in new:
        ensure(
            ticket.id in kept,
            UselessTicket(
                f"ticket 0x{ticket.id.hex()} scores worse than the {spec.epoch_length} kept"
            ),
        )
    return merged
