"""Equivocation evidence: verifiable by anyone, names the offender for Safrole."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shielded.finality.contribution import Vote, contribute
from shielded.finality.dkg import KeyingOutcome
from shielded.finality.equivocation import EquivocationEvidence, offender_key, verify_equivocation
from shielded.finality.errors import InvalidEvidence, UnknownIndex
from shielded.finality.group import GROUP_ORDER, Scalar
from tests.shielded.finality.blocks import payload


def vote(genesis: KeyingOutcome, index: int, slot: int, header: bytes) -> Vote:
    block = payload(slot, header)
    return Vote(block, contribute(genesis.shares[index], block))


def test_equivocation_names_the_offender(genesis: KeyingOutcome) -> None:
    evidence = EquivocationEvidence.of(vote(genesis, 4, 9, b"\xbb"), vote(genesis, 4, 9, b"\xaa"))
    assert evidence.first.payload.header_hash < evidence.second.payload.header_hash
    decoded = EquivocationEvidence.decode(evidence.encode())
    assert verify_equivocation(decoded, genesis.keys) == 4
    ed25519_keys = [bytes([i]) * 32 for i in range(6)]
    assert offender_key(decoded, genesis.keys, ed25519_keys) == bytes([4]) * 32


def test_invalid_evidence_same_header(genesis: KeyingOutcome) -> None:
    a, b = vote(genesis, 1, 9, b"\xaa"), vote(genesis, 1, 9, b"\xaa")
    with pytest.raises(InvalidEvidence):
        verify_equivocation(EquivocationEvidence(a, b), genesis.keys)


def test_invalid_evidence_different_slots_or_validators(genesis: KeyingOutcome) -> None:
    with pytest.raises(InvalidEvidence):
        verify_equivocation(
            EquivocationEvidence.of(vote(genesis, 1, 9, b"\xaa"), vote(genesis, 1, 10, b"\xbb")),
            genesis.keys,
        )
    with pytest.raises(InvalidEvidence):
        verify_equivocation(
            EquivocationEvidence.of(vote(genesis, 1, 9, b"\xaa"), vote(genesis, 2, 9, b"\xbb")),
            genesis.keys,
        )


def test_invalid_evidence_unordered(genesis: KeyingOutcome) -> None:
    a, b = vote(genesis, 3, 9, b"\xaa"), vote(genesis, 3, 9, b"\xbb")
    with pytest.raises(InvalidEvidence):
        verify_equivocation(EquivocationEvidence(b, a), genesis.keys)


def test_invalid_evidence_with_a_forged_vote(genesis: KeyingOutcome) -> None:
    honest = vote(genesis, 2, 9, b"\xaa")
    other = vote(genesis, 2, 9, b"\xbb")
    bumped = Scalar((other.contribution.response.value + 1) % GROUP_ORDER)
    forged = replace(other, contribution=replace(other.contribution, response=bumped))
    with pytest.raises(InvalidEvidence):
        verify_equivocation(EquivocationEvidence.of(honest, forged), genesis.keys)
    # Someone else's vote relabelled with validator 2's index is not evidence against 2.
    framed = vote(genesis, 5, 9, b"\xbb")
    relabelled = replace(framed, contribution=replace(framed.contribution, index=2))
    with pytest.raises(InvalidEvidence):
        verify_equivocation(EquivocationEvidence.of(honest, relabelled), genesis.keys)


def test_invalid_evidence_unknown_index(genesis: KeyingOutcome) -> None:
    a, b = vote(genesis, 0, 9, b"\xaa"), vote(genesis, 0, 9, b"\xbb")
    moved = EquivocationEvidence(
        replace(a, contribution=replace(a.contribution, index=6)),
        replace(b, contribution=replace(b.contribution, index=6)),
    )
    with pytest.raises(UnknownIndex):
        verify_equivocation(moved, genesis.keys)
