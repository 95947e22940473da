"""Safrole tickets on the devnet's validators (graypaper 6.7): made in turns during the
contest, gossiped, put in blocks' E_T, and from the next epoch slots are sealed by tickets."""

from __future__ import annotations

import os
from pathlib import Path

from jamcore.block import block_codecs
from jamcore.crypto.bandersnatch import RING_PROOF_BYTES
from jamcore.safrole.state import TicketEnvelope, TicketSeries
from shielded.native_pool import NativePool
from shielded.node.genesis import GenesisConfig, ValidatorSecrets
from shielded.node.jam_messages import Ticket
from shielded.node.jam_validator import JamValidator
from tests.shielded.node.test_jam_validator import (
    BALANCES,
    CONFIG,
    AcceptAll,
    Bus,
    assert_converged,
    make_validators,
)


def _validators(
    tmp_path: Path, config: GenesisConfig, keys: list[ValidatorSecrets]
) -> list[JamValidator]:
    spec = config.chain_spec()
    return make_validators(
        tmp_path, config, keys, CONFIG, BALANCES, lambda: NativePool(CONFIG, AcceptAll(), spec)
    )


def _slot_with_tickets(bus: Bus, slot: int) -> None:
    """Slot `slot` on every validator, then each one whose turn it is makes its tickets
    (synchronously here; the process does it on a thread) and gossips them."""
    bus.slot(slot)
    for validator in bus.validators:
        work = validator.ticket_work(slot)
        if work is not None:
            bus.send(validator.index, validator.tickets_made(slot, work()))
            bus.run()


def test_tickets_fill_the_contest_and_seal_the_next_epoch(
    tmp_path: Path, devnet: tuple[Path, GenesisConfig], validator_keys: list[ValidatorSecrets]
) -> None:
    validators = _validators(tmp_path, devnet[1], validator_keys)
    bus = Bus(validators)
    spec = validators[0].spec
    length = spec.epoch_length
    for slot in range(1, length + 3):
        _slot_with_tickets(bus, slot)
    assert_converged(validators)
    codecs = block_codecs(spec)
    stored = validators[0].store.canonical_range(1, 1_000)
    blocks = [codecs.block.decode(b.block) for b in stored]
    carried = sum(len(block.extrinsic.tickets) for block in blocks if block.header.slot < length)
    assert carried >= length, "the contest did not gather a ticket per slot"
    # The epoch change turned the full accumulator into the sealing series (eq. 6.24), and
    # the blocks after it were sealed by the holders of their slots' tickets.
    head = validators[0].head_state()
    assert isinstance(head.gamma_s, TicketSeries)
    assert any(block.header.slot >= length for block in blocks)
    assert blocks[-1].header.tickets_mark is None
    assert any(block.header.tickets_mark is not None for block in blocks)
    assert not any("own block" in reason for v in validators for reason in v.refused)


def test_a_forged_ticket_is_refused_and_changes_nothing(
    tmp_path: Path, devnet: tuple[Path, GenesisConfig], validator_keys: list[ValidatorSecrets]
) -> None:
    validator = _validators(tmp_path, devnet[1], validator_keys)[0]
    validator.on_slot(3)
    before = dict(validator.tickets.by_epoch)
    forged = Ticket(TicketEnvelope(0, os.urandom(RING_PROOF_BYTES)))
    assert validator.on_message(forged) == []
    assert validator.tickets.by_epoch == before
    assert "ring proof" in validator.refused[-1]
    # An attempt beyond N is refused too.
    assert validator.on_message(Ticket(TicketEnvelope(7, bytes(RING_PROOF_BYTES)))) == []
    assert validator.tickets.by_epoch == before
