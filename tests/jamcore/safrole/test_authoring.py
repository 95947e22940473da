"""Authoring and sealing a tiny chain across epoch changes, in ticket and fallback modes."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from jamcore.safrole.authoring import (
    ProducedTicket,
    claim_slot,
    select_tickets,
    slot_author,
)
from jamcore.safrole.errors import (
    BadAuthorIndex,
    BadSeal,
    BadSlot,
    BadVrfEntropy,
    NotSlotAuthor,
)
from jamcore.safrole.sealing import (
    SealVerdict,
    make_entropy_source,
    make_seal,
    slot_sealer,
    verify_seal,
)
from jamcore.safrole.state import (
    FallbackSeries,
    SafroleInput,
    SafroleOutput,
    SafroleState,
    TicketEnvelope,
    TicketSeries,
    ValidatorKey,
)
from jamcore.safrole.transition import transition
from jamcore.spec import TINY


@dataclass(frozen=True)
class Authored:
    """A block made by the driver: its seal verdict, markers and posterior state."""

    slot: int
    author: int
    verdict: SealVerdict
    output: SafroleOutput
    state: SafroleState


def unsealed_header(slot: int, author: int, entropy_source: bytes) -> bytes:
    """A stand-in for E_U(H): distinct per block and containing H_v, as the real one does."""
    return b"unsealed-header" + slot.to_bytes(4, "little") + bytes([author]) + entropy_source


def author_block(
    state: SafroleState,
    slot: int,
    secrets: tuple[bytes, ...],
    tickets: tuple[TicketEnvelope, ...] = (),
) -> Authored:
    """Find the one validator that may seal `slot`, seal, verify as an importer, transition."""
    claims = [slot_author(state, slot, (secret,), TINY) for secret in secrets]
    holders = [i for i, claim in enumerate(claims) if claim is not None]
    assert len(holders) == 1, f"slot {slot} claimable by {holders}"
    position = holders[0]
    claim = claims[position][1]  # type: ignore[index]
    secret = secrets[position]
    entropy_source = make_entropy_source(secret, claim.sealer)
    header = unsealed_header(slot, claim.author_index, entropy_source)
    seal = make_seal(secret, claim.sealer, header)
    # The importer recomputes the sealer from its own state.
    verdict = verify_seal(
        slot_sealer(state, slot, TINY), claim.author_index, header, seal, entropy_source
    )
    posterior, output = transition(state, SafroleInput(slot, verdict.entropy, tickets), (), TINY)
    return Authored(slot, claim.author_index, verdict, output, posterior)


@pytest.fixture(scope="module")
def chain(
    genesis: SafroleState,
    secrets: tuple[bytes, ...],
    epoch0_tickets: tuple[ProducedTicket, ...],
) -> list[Authored]:
    """Epoch 0 (fallback) collects tickets; epoch 1 is sealed by tickets and collects none;
    epoch 2 falls back to keys."""
    blocks: list[Authored] = []
    state = genesis
    for slot in (1, 2, 3, 4, 5, 10, 12, 13, 14, 17, 22, 24, 25):
        phase = slot % TINY.epoch_length
        tickets = (
            select_tickets(epoch0_tickets, state.ticket_accumulator, TINY)
            if slot < TINY.epoch_length and phase < TINY.contest_duration
            else ()
        )
        block = author_block(state, slot, secrets, tickets)
        blocks.append(block)
        state = block.state
    return blocks


def by_slot(chain: list[Authored], slot: int) -> Authored:
    return next(block for block in chain if block.slot == slot)


def test_tickets_fill_the_accumulator_with_the_best_ids(
    chain: list[Authored], epoch0_tickets: tuple[ProducedTicket, ...]
) -> None:
    accumulator = by_slot(chain, 5).state.ticket_accumulator
    best = tuple(t.body for t in epoch0_tickets[: TINY.epoch_length])
    assert accumulator == best


def test_tickets_mark_published_when_the_contest_closes(chain: list[Authored]) -> None:
    closing = by_slot(chain, 10)
    assert closing.output.tickets_mark is not None
    assert len(closing.output.tickets_mark) == TINY.epoch_length
    assert by_slot(chain, 5).output.tickets_mark is None


def test_epoch_one_is_sealed_by_tickets(chain: list[Authored]) -> None:
    first = by_slot(chain, 12)
    assert first.output.epoch_mark is not None
    assert isinstance(first.state.sealing_keys, TicketSeries)
    assert first.state.sealing_keys.tickets == by_slot(chain, 10).output.tickets_mark
    for slot in (12, 13, 14, 17, 22):
        assert by_slot(chain, slot).verdict.ticketed


def test_epoch_two_falls_back_to_keys(chain: list[Authored]) -> None:
    first = by_slot(chain, 24)
    assert first.output.epoch_mark is not None
    assert isinstance(first.state.sealing_keys, FallbackSeries)
    assert not first.verdict.ticketed and not by_slot(chain, 25).verdict.ticketed
    assert first.state.ticket_accumulator == ()


def test_entropy_accumulates_every_block_and_rotates_at_epochs(chain: list[Authored]) -> None:
    before, after = by_slot(chain, 10).state, by_slot(chain, 12).state
    assert after.entropy[1:] == (before.entropy[0], before.entropy[1], before.entropy[2])
    assert len({block.state.entropy[0] for block in chain}) == len(chain)


def test_invalid_seal_by_another_validator_in_ticket_mode(
    chain: list[Authored], secrets: tuple[bytes, ...]
) -> None:
    state, slot = by_slot(chain, 12).state, 13
    sealer = slot_sealer(state, slot, TINY)
    honest = claim_slot(state, slot, secrets[by_slot(chain, 13).author], TINY)
    other = next(i for i in range(len(secrets)) if i != honest.author_index)
    entropy_source = make_entropy_source(secrets[other], sealer)
    header = unsealed_header(slot, other, entropy_source)
    seal = make_seal(secrets[other], sealer, header)
    with pytest.raises(BadSeal, match="is not the slot 13 ticket"):
        verify_seal(sealer, other, header, seal, entropy_source)
    with pytest.raises(NotSlotAuthor):
        claim_slot(state, slot, secrets[other], TINY)


def test_invalid_seal_by_another_validator_in_fallback_mode(
    chain: list[Authored], secrets: tuple[bytes, ...]
) -> None:
    state, slot = by_slot(chain, 24).state, 25
    sealer = slot_sealer(state, slot, TINY)
    holder = by_slot(chain, 25).author
    other = next(
        i
        for i in range(len(secrets))
        if state.active_validators[i].bandersnatch != sealer.fallback_key
    )
    entropy_source = make_entropy_source(secrets[other], sealer)
    header = unsealed_header(slot, other, entropy_source)
    seal = make_seal(secrets[other], sealer, header)
    with pytest.raises(BadAuthorIndex, match="falls to key"):
        verify_seal(sealer, other, header, seal, entropy_source)
    # The rightful holder's seal over a different header does not verify either.
    good_source = make_entropy_source(secrets[holder], sealer)
    good_seal = make_seal(secrets[holder], sealer, unsealed_header(slot, holder, good_source))
    with pytest.raises(BadSeal, match="seal of slot 25"):
        verify_seal(sealer, holder, b"tampered" + good_source, good_seal, good_source)
    with pytest.raises(BadVrfEntropy, match="entropy source"):
        verify_seal(
            sealer, holder, unsealed_header(slot, holder, good_source), good_seal, entropy_source
        )


def test_invalid_out_of_order_slot(chain: list[Authored], secrets: tuple[bytes, ...]) -> None:
    state = by_slot(chain, 14).state
    with pytest.raises(BadSlot):
        slot_sealer(state, 14, TINY)
    with pytest.raises(BadSlot):
        transition(state, SafroleInput(13, bytes(32), ()), (), TINY)


def test_invalid_malformed_author_key(chain: list[Authored]) -> None:
    state = by_slot(chain, 24).state
    sealer = slot_sealer(state, 25, TINY)
    broken = ValidatorKey(b"\x01" * 32, bytes(32), bytes(144), bytes(128))
    index = next(
        i for i, v in enumerate(sealer.validators) if v.bandersnatch != sealer.fallback_key
    )
    validators = list(sealer.validators)
    validators[index] = broken
    bad = type(sealer)(sealer.slot, None, sealer.fallback_key, sealer.entropy, tuple(validators))
    # An author whose key is no Bandersnatch point has no usable key (eq. 5.9, 6.14).
    with pytest.raises(BadAuthorIndex, match="no valid Bandersnatch key"):
        verify_seal(bad, index, b"header", bytes(96), bytes(96))
    with pytest.raises(BadAuthorIndex, match="author index"):
        verify_seal(sealer, len(validators), b"header", bytes(96), bytes(96))
