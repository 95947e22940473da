"""Nullifier derivation and the epoch-pruned nullifier set."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shielded.notes.poseidon import FIELD_MODULUS, poseidon
from shielded.nullifiers.derive import derive_nullifier
from shielded.nullifiers.errors import NullifierError
from shielded.nullifiers.nullifier_set import NullifierSet, RevealedNullifier


def test_derivation_is_poseidon_of_nk_cm_position() -> None:
    assert derive_nullifier(3, 5, 7) == poseidon(3, 5, 7)
    assert derive_nullifier(3, 5, 7) != derive_nullifier(3, 5, 8)
    with pytest.raises(NullifierError, match="position"):
        derive_nullifier(3, 5, FIELD_MODULUS)


def test_double_spends_in_one_batch_and_across_batches_change_nothing() -> None:
    nullifiers = NullifierSet(lifetime=2)
    nullifiers.insert([RevealedNullifier(1, 0), RevealedNullifier(2, 0)])
    with pytest.raises(NullifierError, match="twice"):
        nullifiers.insert([RevealedNullifier(3, 1), RevealedNullifier(3, 1)])
    with pytest.raises(NullifierError, match="already revealed"):
        nullifiers.insert([RevealedNullifier(4, 1), RevealedNullifier(2, 1)])
    assert len(nullifiers) == 2 and 3 not in nullifiers and 4 not in nullifiers
    with pytest.raises(NullifierError, match="field element"):
        nullifiers.insert([RevealedNullifier(FIELD_MODULUS, 1)])


def test_pruning_after_lifetime_keeps_permanent_spends() -> None:
    nullifiers = NullifierSet(lifetime=2)
    nullifiers.insert([RevealedNullifier(10, 3), RevealedNullifier(11, 3, permanent=True)])
    nullifiers.insert([RevealedNullifier(12, 4)])
    assert nullifiers.prune(5) == 0  # 5 > 3 + 2 is false
    assert nullifiers.prune(6) == 1  # drops the epoch-3 ephemeral spend only
    assert 10 not in nullifiers and 11 in nullifiers and 12 in nullifiers
    assert nullifiers.prune(7) == 1
    assert [entry.nullifier for entry in nullifiers.entries()] == [11]
    nullifiers.remove([11])
    assert len(nullifiers) == 0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 8), st.booleans()), max_size=40))
def test_prune_keeps_exactly_the_unexpired(entries: list[tuple[int, int, bool]]) -> None:
    nullifiers = NullifierSet(lifetime=3)
    kept: dict[int, RevealedNullifier] = {}
    for nf, epoch, permanent in entries:
        if nf not in kept:
            kept[nf] = RevealedNullifier(nf, epoch, permanent)
    nullifiers.insert(kept.values())
    nullifiers.prune(8)
    expected = {nf for nf, entry in kept.items() if entry.permanent or 8 <= entry.epoch + 3}
    assert {entry.nullifier for entry in nullifiers.entries()} == expected
