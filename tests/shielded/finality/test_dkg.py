"""Genesis DKG and epoch resharing: shares, public shares, complaints, disqualification."""

from __future__ import annotations

import pytest

from shielded.finality.dkg import KeyingOutcome, run_dkg
from shielded.finality.errors import (
    DuplicateIndex,
    MalformedMessage,
    MalformedPoint,
    SharingError,
    UnknownIndex,
)
from shielded.finality.group import base_mul
from shielded.finality.keys import EpochKeys, evaluation_point, threshold_for
from shielded.finality.lagrange import lagrange_at_zero
from shielded.finality.msm import msm
from shielded.finality.reshare import run_reshare
from shielded.finality.simulation import DealerFaults
from shielded.finality.vss import Dealing, SharingRound, deal, degree_failures


def assert_consistent(outcome: KeyingOutcome) -> None:
    """Every x_j matches y_j, and any t public shares interpolate to Y."""
    keys = outcome.keys
    for share in outcome.shares:
        assert base_mul(share.secret) == keys.public_share(share.index)
    for first in range(keys.validator_count - keys.threshold + 1):
        chosen = list(range(first, first + keys.threshold))
        lambdas = lagrange_at_zero([evaluation_point(i) for i in chosen])
        assert msm(lambdas, [keys.public_shares[i] for i in chosen]) == keys.group_key


def test_threshold_is_two_thirds_plus_one() -> None:
    assert [threshold_for(v) for v in (1, 3, 6, 7, 1023)] == [1, 3, 5, 5, 683]


def test_dkg_produces_consistent_shares(genesis: KeyingOutcome) -> None:
    assert genesis.qualified == tuple(range(6))
    assert not genesis.disqualified
    assert_consistent(genesis)


def test_dkg_answered_complaint_keeps_the_dealer() -> None:
    outcome = run_dkg(6, DealerFaults(wrong_shares={2: frozenset({0, 4})}))
    assert outcome.qualified == tuple(range(6))
    assert_consistent(outcome)  # recipients 0 and 4 use the publicly revealed shares


def test_dkg_disqualifies_silent_and_high_degree_dealers() -> None:
    faults = DealerFaults(
        wrong_shares={1: frozenset({3})}, silent=frozenset({1}), high_degree=frozenset({5})
    )
    outcome = run_dkg(7, faults)
    assert outcome.qualified == (0, 2, 3, 4, 6)
    assert set(outcome.disqualified) == {1, 5}
    assert_consistent(outcome)


def test_dkg_disqualifies_a_dealer_with_t_complaints() -> None:
    outcome = run_dkg(6, DealerFaults(wrong_shares={3: frozenset(range(5))}))
    assert set(outcome.disqualified) == {3}
    assert_consistent(outcome)


def test_invalid_dkg_with_too_few_qualified_dealers_fails() -> None:
    with pytest.raises(SharingError):
        run_dkg(4, DealerFaults(high_degree=frozenset({0, 1})))


def test_degree_check_names_only_the_bad_dealer() -> None:
    good, _ = deal(0, 5, 3, 6)
    bad, _ = deal(1, 5, 4, 6)
    assert degree_failures([good, bad], 3) == {1}
    assert degree_failures([good], 3) == set()
    with pytest.raises(SharingError):
        degree_failures([good, deal(2, 5, 3, 5)[0]], 3)


def test_dealing_round_trips_and_rejects_bad_points() -> None:
    dealing, _ = deal(3, 42, 2, 4)
    assert Dealing.decode(dealing.encode()) == dealing
    forged = bytearray(dealing.encode())
    forged[-32:] = bytes(32)  # a small-order point
    with pytest.raises(MalformedPoint):
        Dealing.decode(bytes(forged))
    with pytest.raises(MalformedMessage):
        Dealing.decode(dealing.encode()[:-1])


def test_invalid_dealings_are_rejected_by_the_round() -> None:
    sharing = SharingRound(dealer_count=3, recipient_count=3, threshold=3)
    dealing, _ = deal(0, 1, 3, 3)
    sharing.publish(dealing)
    with pytest.raises(DuplicateIndex):
        sharing.publish(dealing)
    with pytest.raises(UnknownIndex):
        sharing.publish(deal(7, 1, 3, 3)[0])
    sharing.publish(deal(1, 1, 3, 4)[0])  # commitments for the wrong number of recipients
    assert 1 in sharing.disqualified


def test_reshare_to_a_larger_set_keeps_the_group_key(genesis: KeyingOutcome) -> None:
    outcome = run_reshare(genesis.keys, genesis.shares, 7)
    assert outcome.keys.group_key == genesis.keys.group_key
    assert outcome.keys.validator_count == 7
    assert_consistent(outcome)
    old_secrets = {s.secret for s in genesis.shares}
    assert not old_secrets & {s.secret for s in outcome.shares}


def test_reshare_from_a_threshold_subset_to_a_smaller_set(genesis: KeyingOutcome) -> None:
    outcome = run_reshare(genesis.keys, genesis.shares[1:], 4)
    assert outcome.qualified == (1, 2, 3, 4, 5)
    assert outcome.keys.group_key == genesis.keys.group_key
    assert_consistent(outcome)


def test_reshare_disqualifies_a_dealer_that_does_not_deal_its_share(
    genesis: KeyingOutcome,
) -> None:
    shares = list(genesis.shares)
    liar = shares[0]
    shares[0] = type(liar)(liar.index, type(liar.secret)(liar.secret.value + 1))
    outcome = run_reshare(genesis.keys, shares, 7)
    assert 0 in outcome.disqualified
    assert outcome.keys.group_key == genesis.keys.group_key
    assert_consistent(outcome)


def test_invalid_reshare_with_fewer_than_t_old_shares_fails(genesis: KeyingOutcome) -> None:
    with pytest.raises(SharingError):
        run_reshare(genesis.keys, genesis.shares[:4], 7)
    with pytest.raises(DuplicateIndex):
        run_reshare(genesis.keys, genesis.shares[:5] + genesis.shares[:1], 7)


def test_epoch_keys_round_trip(genesis: KeyingOutcome) -> None:
    keys = genesis.keys
    assert EpochKeys.decode(keys.encode()) == keys
    with pytest.raises(UnknownIndex):
        keys.public_share(6)
