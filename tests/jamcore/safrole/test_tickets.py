"""Ticket validation and the accumulator: forged, replayed, late, misordered, useless tickets."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jamcore.crypto.bandersnatch import Ring, public_from_secret, secret_from_seed
from jamcore.safrole.authoring import ProducedTicket, produce_tickets, select_tickets
from jamcore.safrole.errors import (
    BadTicketAttempt,
    BadTicketOrder,
    BadTicketProof,
    DuplicateTicket,
    UnexpectedTicket,
    UselessTicket,
)
from jamcore.safrole.sequencing import outside_in
from jamcore.safrole.state import SafroleInput, SafroleState, TicketBody, TicketEnvelope
from jamcore.safrole.tickets import merge_tickets, ticket_vrf_input
from jamcore.safrole.transition import transition
from jamcore.spec import TINY


def submit(state: SafroleState, slot: int, tickets: tuple[TicketEnvelope, ...]) -> SafroleState:
    return transition(state, SafroleInput(slot, bytes(32), tickets), (), TINY)[0]


def test_valid_tickets_enter_the_accumulator(
    genesis: SafroleState, epoch0_tickets: tuple[ProducedTicket, ...]
) -> None:
    chosen = epoch0_tickets[:3]
    posterior = submit(genesis, 1, tuple(t.envelope for t in chosen))
    assert posterior.ticket_accumulator == tuple(t.body for t in chosen)


def test_invalid_forged_ticket_proof(
    genesis: SafroleState, epoch0_tickets: tuple[ProducedTicket, ...]
) -> None:
    envelope = epoch0_tickets[0].envelope
    flipped = bytearray(envelope.signature)
    flipped[100] ^= 1
    with pytest.raises(BadTicketProof):
        submit(genesis, 1, (replace(envelope, signature=bytes(flipped)),))


def test_invalid_ticket_from_outside_the_ring(genesis: SafroleState) -> None:
    outsider = secret_from_seed(b"\x99" * 32)
    ring_keys = [v.bandersnatch for v in genesis.pending_validators]
    ring_keys[0] = public_from_secret(outsider)
    proof = Ring.of(ring_keys).prove(0, outsider, ticket_vrf_input(genesis.entropy[2], 0), b"")
    with pytest.raises(BadTicketProof):
        submit(genesis, 1, (TicketEnvelope(0, proof),))


def test_invalid_ticket_attempt_at_or_above_n(
    genesis: SafroleState, epoch0_tickets: tuple[ProducedTicket, ...]
) -> None:
    envelope = replace(epoch0_tickets[0].envelope, attempt=TINY.tickets_per_validator)
    with pytest.raises(BadTicketAttempt):
        submit(genesis, 1, (envelope,))


def test_invalid_replayed_ticket(
    genesis: SafroleState, epoch0_tickets: tuple[ProducedTicket, ...]
) -> None:
    first = submit(genesis, 1, (epoch0_tickets[0].envelope,))
    snapshot = first
    with pytest.raises(DuplicateTicket):
        submit(first, 2, (epoch0_tickets[0].envelope,))
    assert first == snapshot


def test_invalid_misordered_and_repeated_tickets(
    genesis: SafroleState, epoch0_tickets: tuple[ProducedTicket, ...]
) -> None:
    a, b = epoch0_tickets[0].envelope, epoch0_tickets[1].envelope
    with pytest.raises(BadTicketOrder):
        submit(genesis, 1, (b, a))
    with pytest.raises(BadTicketOrder):
        submit(genesis, 1, (a, a))


def test_invalid_tickets_after_the_contest_or_beyond_k(
    genesis: SafroleState, epoch0_tickets: tuple[ProducedTicket, ...]
) -> None:
    with pytest.raises(UnexpectedTicket, match="contest closed"):
        submit(genesis, TINY.contest_duration, (epoch0_tickets[0].envelope,))
    too_many = tuple(t.envelope for t in epoch0_tickets[: TINY.max_tickets_per_extrinsic + 1])
    with pytest.raises(UnexpectedTicket, match="at most K"):
        submit(genesis, 1, too_many)
    with pytest.raises(UnexpectedTicket):
        produce_tickets(genesis, TINY.contest_duration, secret_from_seed(bytes(32)), TINY)


def test_invalid_useless_ticket_once_the_accumulator_is_full(
    genesis: SafroleState, epoch0_tickets: tuple[ProducedTicket, ...]
) -> None:
    best = tuple(t.body for t in epoch0_tickets[: TINY.epoch_length])
    full = replace(genesis, ticket_accumulator=best)
    worst = epoch0_tickets[-1]
    with pytest.raises(UselessTicket):
        submit(full, 1, (worst.envelope,))
    assert select_tickets(epoch0_tickets, best, TINY) == ()


def test_select_tickets_prefers_the_best_fresh_ones(
    epoch0_tickets: tuple[ProducedTicket, ...],
) -> None:
    chosen = select_tickets(epoch0_tickets[::-1], (epoch0_tickets[0].body,), TINY)
    assert chosen == tuple(t.envelope for t in epoch0_tickets[1:4])


def ticket(n: int) -> TicketBody:
    return TicketBody(n.to_bytes(32, "big"), n % 2)


@given(st.sets(st.integers(0, 1000), max_size=20), st.sets(st.integers(0, 1000), max_size=5))
def test_merge_keeps_the_e_lowest_ids(old: set[int], new: set[int]) -> None:
    accumulator = tuple(ticket(n) for n in sorted(old)[: TINY.epoch_length])
    fresh = tuple(ticket(n) for n in sorted(new - old))
    expected = sorted([*accumulator, *fresh])[: TINY.epoch_length]
    if set(fresh) <= set(expected):
        assert list(merge_tickets(accumulator, fresh, TINY)) == expected
    else:
        with pytest.raises(UselessTicket):
            merge_tickets(accumulator, fresh, TINY)


@given(st.lists(st.integers(), max_size=40))
def test_outside_in_alternates_ends(items: list[int]) -> None:
    ordered = outside_in(items)
    assert sorted(ordered) == sorted(items)
    for k, value in enumerate(ordered):
        assert value == (items[k // 2] if k % 2 == 0 else items[len(items) - 1 - k // 2])
