"""A full-spec certificate (683 of 1023): the bucket-method path of eq. 3.3 end to end."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shielded.finality.certificate import (
    Certificate,
    aggregate,
    check_certificate,
    verify_certificate,
)
from shielded.finality.contribution import Vote, contribute
from shielded.finality.dkg import KeyingOutcome
from shielded.finality.errors import InsufficientContributions, InvalidCertificate
from shielded.finality.group import GROUP_ORDER, Scalar
from shielded.finality.keys import EpochKeys, KeyShare, threshold_for
from shielded.finality.reshare import run_reshare
from shielded.finality.vss import deal
from tests.shielded.finality.blocks import payload


@pytest.fixture(scope="module")
def full_set() -> tuple[EpochKeys, list[KeyShare]]:
    """1023 validators' keys from one Feldman dealing (the DKG's output has this shape)."""
    dealing, shares = deal(0, random.randrange(1, GROUP_ORDER), threshold_for(1023), 1023)
    keys = EpochKeys(dealing.commitments[0], dealing.commitments[1:])
    return keys, [KeyShare(i, s) for i, s in enumerate(shares)]


def test_683_of_1023_certificate_verifies_and_names_a_forger(
    full_set: tuple[EpochKeys, list[KeyShare]],
) -> None:
    keys, shares = full_set
    block = payload(600)
    chosen = random.Random(1).sample(shares, 683)
    votes = [Vote(block, contribute(share, block)) for share in chosen]
    certificate = Certificate.decode(aggregate(block, votes, 1023).encode())
    verify_certificate(certificate, keys.group_key, 1023)
    victim = certificate.contributions[400]
    forged = replace(victim, response=Scalar((victim.response.value + 7) % GROUP_ORDER))
    contributions = list(certificate.contributions)
    contributions[400] = forged
    with pytest.raises(InvalidCertificate) as failure:
        check_certificate(replace(certificate, contributions=tuple(contributions)), keys)
    assert failure.value.bad_indices == (victim.index,)
    with pytest.raises(InsufficientContributions):
        short = replace(certificate, contributions=certificate.contributions[:682])
        verify_certificate(short, keys.group_key, 1023)


@pytest.fixture(scope="module")
def seven(genesis: KeyingOutcome) -> KeyingOutcome:
    """The genesis key reshared to a 7-validator set."""
    return run_reshare(genesis.keys, genesis.shares, 7)


@settings(max_examples=15, deadline=None)
@given(st.sets(st.integers(0, 6), min_size=1))
def test_any_t_of_7_finalize_and_fewer_do_not(seven: KeyingOutcome, indices: set[int]) -> None:
    epoch = seven
    block = payload(700)
    votes = [Vote(block, contribute(epoch.shares[i], block)) for i in sorted(indices)]
    certificate = Certificate(block, tuple(v.contribution for v in votes))
    if len(indices) >= threshold_for(7):
        check_certificate(Certificate.decode(certificate.encode()), epoch.keys)
    else:
        with pytest.raises(InsufficientContributions):
            verify_certificate(certificate, epoch.keys.group_key, 7)

