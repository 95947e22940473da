"""Resharing the finality keys on chain: signed dealings, complaints, answers, epoch change."""

from __future__ import annotations

from dataclasses import replace

import pytest
from nacl.signing import SigningKey

from shielded.finality.certificate import aggregate, verify_certificate
from shielded.finality.contribution import FinalityPayload, Vote, contribute, verify_contribution
from shielded.finality.dkg import run_dkg
from shielded.finality.errors import MalformedMessage
from shielded.finality.group import Scalar
from shielded.finality.keys import KeyShare, threshold_for
from shielded.finality.transport import (
    DEALING_BODY,
    DealingBody,
    InvalidMessage,
    Signed,
    make_answer,
    make_complaint,
    make_dealing,
    open_body,
    open_share,
    sign,
)
from shielded.node.key_record import (
    KeyRecord,
    ReshareError,
    RoundContext,
    admit,
    close_round,
    derive_share,
    keys_fingerprint,
)

V = 6
E = 12
CHAIN = bytes(range(32))


@pytest.fixture(scope="module")
def network() -> tuple[list[SigningKey], list[bytes], KeyRecord, tuple[KeyShare, ...]]:
    signing = [SigningKey(bytes([i + 1]) * 32) for i in range(V)]
    ed25519 = [bytes(k.verify_key) for k in signing]
    outcome = run_dkg(V)
    return signing, ed25519, KeyRecord.genesis(outcome.keys), outcome.shares


def context(ed25519: list[bytes], slot: int) -> RoundContext:
    return RoundContext(CHAIN, slot, E, ed25519, ed25519)


def deal_all(
    record: KeyRecord,
    signing: list[SigningKey],
    ed25519: list[bytes],
    shares: tuple[KeyShare, ...],
    dealers: range | list[int],
    slot: int = 1,
) -> tuple[KeyRecord, dict[int, tuple[Scalar, ...]]]:
    kept = {}
    for i in dealers:
        message, plain = make_dealing(
            CHAIN, slot // E, shares[i], ed25519, threshold_for(V), signing[i]
        )
        kept[i] = plain
        record = admit(record, context(ed25519, slot), Signed.decode(message.encode()))
    return record, kept


def certify(record: KeyRecord, shares: list[KeyShare], slot: int) -> None:
    """Any t of the shares make a certificate that verifies against the record's Y."""
    payload = FinalityPayload(CHAIN, slot, b"\x07" * 32)
    votes = [Vote(payload, contribute(s, payload)) for s in shares[: record.keys.threshold]]
    for vote in votes:
        verify_contribution(
            vote.contribution, payload, record.keys.public_share(vote.contribution.index)
        )
    certificate = aggregate(payload, votes, record.keys.validator_count)
    verify_certificate(certificate, record.keys.group_key, record.keys.validator_count)


def test_a_round_reshares_the_same_group_key_and_old_shares_stop_working(network) -> None:
    signing, ed25519, genesis, shares = network
    record, _ = deal_all(genesis, signing, ed25519, shares, range(V))
    closed = close_round(record, 1)
    assert closed.epoch == 1 and closed.previous == genesis.keys
    assert closed.keys.group_key == genesis.keys.group_key
    assert closed.keys.public_shares != genesis.keys.public_shares
    assert keys_fingerprint(closed.keys) != keys_fingerprint(genesis.keys)
    new_shares = [derive_share(closed, j, signing[j]) for j in range(V)]
    assert all(s is not None for s in new_shares)
    certify(closed, [s for s in new_shares if s is not None], slot=E + 1)
    with pytest.raises(Exception):  # noqa: B017 - an old share fails against new y_i
        payload = FinalityPayload(CHAIN, E + 1, b"\x07" * 32)
        verify_contribution(contribute(shares[0], payload), payload, closed.keys.public_share(0))
    # The record survives its encoding, and the keys outlive a round without dealings.
    assert KeyRecord.decode(closed.encode()) == closed
    again = close_round(closed, 3)
    assert again.keys == closed.keys and again.basis == closed.basis and again.epoch == 3
    # Carried over with their basis: a validator that missed the reshare still derives.
    assert derive_share(again, 0, signing[0]) == new_shares[0]


def test_too_few_dealers_keep_the_keys(network) -> None:
    signing, ed25519, genesis, shares = network
    record, _ = deal_all(genesis, signing, ed25519, shares, range(threshold_for(V) - 1))
    closed = close_round(record, 1)
    assert closed.keys == genesis.keys and closed.basis == ()


def test_an_answered_complaint_keeps_the_dealer_and_reveals_the_share(network) -> None:
    signing, ed25519, genesis, shares = network
    record, kept = deal_all(genesis, signing, ed25519, shares, range(V))
    mid = context(ed25519, E // 2 + 1)
    record = admit(record, mid, make_complaint(CHAIN, 0, 2, 4, signing[4]))
    record = admit(record, mid, make_answer(CHAIN, 0, 2, 4, kept[2][4], signing[2]))
    closed = close_round(record, 1)
    assert len(closed.basis) == V and len(closed.basis_answers) == 1
    new_shares = [derive_share(closed, j, signing[j]) for j in range(V)]
    certify(closed, [s for s in new_shares if s is not None], slot=E)


@pytest.mark.parametrize("answer", ["none", "wrong"])
def test_an_unanswered_or_wrongly_answered_complaint_drops_the_dealer(network, answer) -> None:
    signing, ed25519, genesis, shares = network
    record, kept = deal_all(genesis, signing, ed25519, shares, range(V))
    mid = context(ed25519, E // 2)
    record = admit(record, mid, make_complaint(CHAIN, 0, 5, 0, signing[0]))
    if answer == "wrong":
        wrong = Scalar(kept[5][0].value + 1)
        record = admit(record, mid, make_answer(CHAIN, 0, 5, 0, wrong, signing[5]))
    closed = close_round(record, 1)
    dealers = {open_body(d, b"dealing", DEALING_BODY).dealing.dealer for d in closed.basis}
    assert dealers == {0, 1, 2, 3, 4}  # five = t: the round still reshares
    assert closed.keys.group_key == genesis.keys.group_key
    assert closed.keys != genesis.keys
    certify(closed, [derive_share(closed, j, signing[j]) for j in range(V)], slot=E)
    # A second dropped dealer leaves fewer than t: the keys carry over.
    record = admit(record, mid, make_complaint(CHAIN, 0, 1, 3, signing[3]))
    assert close_round(record, 1).keys == genesis.keys


def test_a_recipient_opens_only_its_own_share(network) -> None:
    signing, ed25519, genesis, shares = network
    message, plain = make_dealing(CHAIN, 0, shares[0], ed25519, threshold_for(V), signing[0])
    body = open_body(message, b"dealing", DEALING_BODY)
    assert isinstance(body, DealingBody)
    assert open_share(body, 3, signing[3]) == plain[3]
    assert open_share(body, 3, signing[2]) is None  # sealed to validator 3, not 2
    assert open_share(body, V, signing[3]) is None


def bad_messages(
    signing: list[SigningKey], ed25519: list[bytes], shares: tuple[KeyShare, ...]
) -> list[tuple[str, Signed, int]]:
    t = threshold_for(V)
    good, _ = make_dealing(CHAIN, 0, shares[1], ed25519, t, signing[1])
    body = open_body(good, b"dealing", DEALING_BODY)
    assert isinstance(body, DealingBody)
    forged = Signed(good.kind, good.body, signing[2].sign(b"x").signature)
    other_chain, _ = make_dealing(bytes(32), 0, shares[1], ed25519, t, signing[1])
    later, _ = make_dealing(CHAIN, 1, shares[1], ed25519, t, signing[1])
    claimed = replace(body, dealing=replace(body.dealing, dealer=2))
    high, _ = make_dealing(CHAIN, 0, shares[1], ed25519, V, signing[1])  # degree t' > t
    return [
        ("bad signature", forged, 1),
        ("another chain", other_chain, 1),
        ("another epoch", later, 1),
        ("late dealing", good, E // 2),
        ("wrong V_0", sign(b"dealing", DEALING_BODY, claimed, signing[2]), 1),
        ("high degree", high, 1),
        ("complaint by a non-recipient", make_complaint(CHAIN, 0, 1, 9, signing[3]), 1),
        ("complaint against a non-dealer", make_complaint(CHAIN, 0, 4, 3, signing[3]), 1),
        ("late complaint", make_complaint(CHAIN, 0, 0, 3, signing[3]), 3 * E // 4),
        ("answer without complaint", make_answer(CHAIN, 0, 0, 3, Scalar(5), signing[0]), 1),
        ("unknown kind", Signed(b"vote", b"", bytes(64)), 1),
    ]


def test_bad_messages_are_refused_and_change_nothing(network) -> None:
    signing, ed25519, genesis, shares = network
    record, _ = deal_all(genesis, signing, ed25519, shares, [0])
    for name, message, slot in bad_messages(signing, ed25519, shares):
        with pytest.raises(ReshareError):
            admit(record, context(ed25519, slot), message)
        assert record.dealings and len(record.dealings) == 1, name
    twice, _ = make_dealing(CHAIN, 0, shares[0], ed25519, threshold_for(V), signing[0])
    with pytest.raises(ReshareError, match="already dealt"):
        admit(record, context(ed25519, 1), twice)
    with pytest.raises(ReshareError, match="not at the block's epoch"):
        admit(record, context(ed25519, E + 1), twice)
    with pytest.raises(MalformedMessage):
        Signed.decode(b"\x01garbage")
    with pytest.raises(InvalidMessage):
        Signed(b"dealing", b"", bytes(64)).verify(ed25519[0])
