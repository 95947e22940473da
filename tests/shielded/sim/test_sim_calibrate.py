"""Calibration: the model's replay of blocks predicts a real pool's statistics exactly."""

from __future__ import annotations

from typing import Any

from shielded.nullifiers.nullifier_set import RevealedNullifier
from shielded.service import PoolConfig, PoolState
from shielded.sim.calibrate import compare, format_report, replay
from shielded.sim.sizes import measure_sizes
from shielded.spec import PoolSpec

LIFETIME = 2


def _stats(state: PoolState) -> dict[str, Any]:
    return {
        "height": 0,
        "epoch": state.epoch,
        "live_notes": state.trees.live.leaf_count(),
        "permanent_notes": len(state.trees.permanent),
        "nullifiers": len(state.nullifiers),
        "state_bytes": state.storage_bytes(),
    }


def _run(plan: list[tuple[int, int, int]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Apply (epoch, ephemeral outputs, permanent outputs) blocks to a real pool, two
    outputs and two nullifiers per transaction; returns compact blocks and stats per block."""
    state = PoolState.genesis(PoolConfig(spec=PoolSpec(note_lifetime_epochs=LIFETIME)))
    blocks, stats, fresh = [], [], 1
    for epoch, ephemeral, permanent in plan:
        if epoch > state.epoch:
            state.trees.begin_epoch(epoch)
            state.nullifiers.prune(epoch)
            state.epoch = epoch
        outputs = [False] * ephemeral + [True] * permanent
        transactions = []
        for first in range(0, len(outputs), 2):
            pair = outputs[first : first + 2]
            transactions.append(
                {
                    "outputs": [{"permanent": kept} for kept in pair],
                    "nullifiers": [fresh, fresh + 1],
                }
            )
            state.nullifiers.insert(RevealedNullifier(fresh + i, epoch) for i in range(2))
            fresh += 2
        state.trees.live.append(range(fresh, fresh + ephemeral))
        state.trees.permanent.append(range(fresh, fresh + permanent))
        fresh += ephemeral + permanent
        blocks.append({"epoch": epoch, "transactions": transactions})
        stats.append(_stats(state))
    return blocks, stats


def test_replay_predicts_a_real_pool_across_expiry_and_pruning() -> None:
    plan = [(0, 4, 0), (0, 2, 2), (1, 6, 0), (3, 2, 0), (4, 8, 2), (7, 2, 0)]
    blocks, stats = _run(plan)
    sizes = measure_sizes()
    for height, measured in enumerate(stats):
        model = replay(blocks[: height + 1], measured["epoch"], LIFETIME, sizes)
        for name, value in model.items():
            assert value == measured[name], (height, name)


def test_compare_reports_growth_and_head_values() -> None:
    blocks, stats = _run([(0, 4, 0), (1, 2, 2)])
    sizes = measure_sizes()
    model = tuple(replay(blocks[: h + 1], stats[h]["epoch"], LIFETIME, sizes) for h in (0, 1))
    comparisons = compare((stats[0], stats[1]), model)
    assert all(item.error == 0 for item in comparisons)
    growth = {c.quantity: c.measured for c in comparisons}
    assert growth["permanent_notes"] == 2 and growth["nullifiers"] == 4
    assert "state_bytes at head" in format_report(stats[0], stats[1], comparisons)
