"""Calibration arithmetic: the model's growth for deposits against measured statistics."""

from __future__ import annotations

from shielded.notes.tree import SUBTREE_DEPTH
from shielded.nullifiers.nullifier_set import RevealedNullifier
from shielded.service import PoolConfig, PoolState
from shielded.sim.calibrate import compare, predict
from shielded.sim.sizes import measure_sizes


def _stats(state: PoolState) -> dict[str, int]:
    return {
        "live_notes": state.trees.live.leaf_count(),
        "nullifiers": len(state.nullifiers),
        "state_bytes": state.storage_bytes(),
    }


def test_prediction_is_two_leaves_and_two_nullifiers_per_transaction() -> None:
    leaves, nullifiers, state = predict(measure_sizes(), 10)
    assert (leaves.predicted, nullifiers.predicted) == (20, 20)
    assert state.predicted == 20 * 64 + 20 * 40


def test_comparison_with_a_real_pool_is_within_one_subtree_path() -> None:
    state = PoolState.genesis(PoolConfig())
    state.trees.live.append(range(1, 101))
    before = _stats(state)
    transactions = 200
    state.trees.live.append(range(1000, 1000 + 2 * transactions))
    state.nullifiers.insert(RevealedNullifier(n, 0) for n in range(1, 1 + 2 * transactions))
    by_name = {c.quantity: c for c in compare(before, _stats(state), transactions, measure_sizes())}
    assert by_name["live_notes"].error == 0 and by_name["nullifiers"].error == 0
    gap = abs(by_name["state_bytes"].measured - by_name["state_bytes"].predicted)
    assert gap <= 32 * (SUBTREE_DEPTH + 1)
