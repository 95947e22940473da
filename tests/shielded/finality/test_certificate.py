"""Contributions and certificates: finality across a reshare, identification, bad input."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shielded.finality.certificate import (
    Certificate,
    aggregate,
    check_certificate,
    identify_invalid,
    verify_certificate,
)
from shielded.finality.contribution import Contribution, Vote, contribute, verify_contribution
from shielded.finality.dkg import KeyingOutcome
from shielded.finality.errors import (
    DuplicateIndex,
    InsufficientContributions,
    InvalidCertificate,
    InvalidContribution,
    MalformedMessage,
    MalformedPoint,
    MalformedScalar,
    UnknownIndex,
    WrongPayload,
)
from shielded.finality.group import GROUP_ORDER, Scalar, base_mul
from shielded.finality.keys import KeyShare
from shielded.finality.reshare import run_reshare
from tests.shielded.finality.blocks import payload


def votes_for(shares: tuple[KeyShare, ...], slot: int, header: bytes = b"\x11") -> list[Vote]:
    block = payload(slot, header)
    return [Vote(block, contribute(share, block)) for share in shares]


def certify(shares: tuple[KeyShare, ...], slot: int, validator_count: int) -> Certificate:
    return aggregate(payload(slot), votes_for(shares, slot), validator_count)


def test_contribution_passes_its_schnorr_check(genesis: KeyingOutcome) -> None:
    share = genesis.shares[2]
    block = payload(3)
    contribution = contribute(share, block)
    verify_contribution(contribution, block, genesis.keys.public_share(2))
    with pytest.raises(InvalidContribution):
        verify_contribution(contribution, payload(4), genesis.keys.public_share(2))
    with pytest.raises(InvalidContribution):
        verify_contribution(contribution, block, genesis.keys.public_share(3))


def test_finality_across_two_epochs_with_a_reshare(genesis: KeyingOutcome) -> None:
    # Epoch 0: 6 validators finalize slot 10 with any 5 contributions.
    first = certify(genesis.shares[1:], 10, 6)
    check_certificate(Certificate.decode(first.encode()), genesis.keys)
    check_certificate(certify(genesis.shares[:5], 11, 6), genesis.keys)
    # Epoch change: reshare to 7 validators; Y stays, so certificates keep verifying.
    epoch1 = run_reshare(genesis.keys, genesis.shares, 7)
    assert epoch1.keys.group_key == genesis.keys.group_key
    second = certify(epoch1.shares[2:], 20, 7)
    check_certificate(Certificate.decode(second.encode()), epoch1.keys)
    check_certificate(certify(epoch1.shares, 21, 7), epoch1.keys)  # more than t is fine
    # Old shares are useless in the new epoch: mixed with new ones they fail, and
    # identification against the new public shares names them.
    mixed = genesis.shares[:2] + epoch1.shares[2:5]
    certificate = aggregate(payload(22), votes_for(mixed, 22), 7)
    with pytest.raises(InvalidCertificate) as failure:
        check_certificate(certificate, epoch1.keys)
    assert failure.value.bad_indices == (0, 1)


def test_identifies_a_bad_contribution(genesis: KeyingOutcome) -> None:
    certificate = certify(genesis.shares[:5], 30, 6)
    honest = certificate.contributions[3]
    forged = replace(honest, response=Scalar((honest.response.value + 1) % GROUP_ORDER))
    contributions = list(certificate.contributions)
    contributions[3] = forged
    bad = replace(certificate, contributions=tuple(contributions))
    with pytest.raises(InvalidCertificate):
        verify_certificate(bad, genesis.keys.group_key, 6)
    assert identify_invalid(bad, genesis.keys) == (3,)
    with pytest.raises(InvalidCertificate) as failure:
        check_certificate(bad, genesis.keys)
    assert failure.value.bad_indices == (3,)


def test_invalid_contribution_for_another_payload(genesis: KeyingOutcome) -> None:
    votes = votes_for(genesis.shares[:4], 40)
    stray = votes_for(genesis.shares[4:5], 40, header=b"\x22")
    with pytest.raises(WrongPayload):
        aggregate(payload(40), votes + stray, 6)
    # Smuggled into a certificate, the stray contribution is caught by eq. 3.3 and named.
    smuggled = Certificate(
        payload(40), tuple(v.contribution for v in votes + stray)
    )
    with pytest.raises(InvalidCertificate) as failure:
        check_certificate(smuggled, genesis.keys)
    assert failure.value.bad_indices == (4,)


def test_invalid_certificate_for_another_slot(genesis: KeyingOutcome) -> None:
    certificate = certify(genesis.shares[:5], 50, 6)
    moved = replace(certificate, payload=payload(51))
    with pytest.raises(InvalidCertificate):
        verify_certificate(moved, genesis.keys.group_key, 6)


def test_invalid_fewer_than_t_contributions(genesis: KeyingOutcome) -> None:
    with pytest.raises(InsufficientContributions):
        aggregate(payload(60), votes_for(genesis.shares[:4], 60), 6)
    four = votes_for(genesis.shares[:4], 60)
    short = Certificate(payload(60), tuple(v.contribution for v in four))
    with pytest.raises(InsufficientContributions):
        verify_certificate(short, genesis.keys.group_key, 6)


def test_invalid_duplicate_indices(genesis: KeyingOutcome) -> None:
    votes = votes_for(genesis.shares[:5], 70)
    with pytest.raises(DuplicateIndex):
        aggregate(payload(70), votes + votes[:1], 6)
    twice = Certificate(payload(70), tuple(v.contribution for v in votes + votes[:1]))
    with pytest.raises(DuplicateIndex):
        verify_certificate(twice, genesis.keys.group_key, 6)
    encoded = bytearray(certify(genesis.shares[:5], 70, 6).encode())
    # Overwrite the second contribution's index (u16 after the 68-byte payload,
    # the count byte and the first 66-byte contribution) with the first one's.
    first = 68 + 1
    second = first + 66
    encoded[second : second + 2] = encoded[first : first + 2]
    with pytest.raises(DuplicateIndex):
        Certificate.decode(bytes(encoded))


def test_invalid_unknown_index(genesis: KeyingOutcome) -> None:
    stranger = KeyShare(6, Scalar(12345))
    votes = votes_for(genesis.shares[:5] + (stranger,), 80)
    with pytest.raises(UnknownIndex):
        aggregate(payload(80), votes, 6)
    with pytest.raises(UnknownIndex):
        genesis.keys.public_share(9)


def test_invalid_malformed_encodings(genesis: KeyingOutcome) -> None:
    encoded = certify(genesis.shares[:5], 90, 6).encode()
    commitment = 68 + 1 + 2
    response = commitment + 32
    small_order = bytearray(encoded)
    small_order[commitment : commitment + 32] = bytes(32)
    with pytest.raises(MalformedPoint):
        Certificate.decode(bytes(small_order))
    non_canonical = bytearray(encoded)
    non_canonical[response : response + 32] = (GROUP_ORDER + 3).to_bytes(32, "little")
    with pytest.raises(MalformedScalar):
        Certificate.decode(bytes(non_canonical))
    with pytest.raises(MalformedMessage):
        Certificate.decode(encoded[:-1])
    with pytest.raises(MalformedMessage):
        Certificate.decode(encoded + b"\0")
    unsorted = Certificate.decode(encoded)
    reordered = replace(unsorted, contributions=unsorted.contributions[::-1])
    with pytest.raises(MalformedMessage):
        reordered.encode()


def test_vote_round_trips(genesis: KeyingOutcome) -> None:
    vote = votes_for(genesis.shares[:1], 5)[0]
    assert Vote.decode(vote.encode()) == vote
    assert isinstance(vote.contribution, Contribution)
    assert base_mul(vote.contribution.response) != vote.contribution.commitment
