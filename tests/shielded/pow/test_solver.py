"""The single- and multi-core spam-proof solvers: results, progress and cancellation."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest

from shielded.pow import MalformedProof, SolveCancelled, SolveProgress, check_work, solve
from shielded.pow.solver import CHUNK_NONCES, solve_parallel
from tests.shielded.pow.helpers import block_hash, tx_id


def test_single_core_solve_is_valid_and_deterministic():
    first = solve(block_hash(1), tx_id(1), 10, tier=2)
    assert check_work(first, 10) == first.work()
    assert first.tier == 2
    assert solve(block_hash(1), tx_id(1), 10, tier=2) == first


def test_single_core_solve_reports_progress():
    reports: list[SolveProgress] = []
    proof = solve(block_hash(2), tx_id(2), 16, progress=reports.append, progress_interval=0.0)
    assert reports, "progress was never reported"
    done = [report.hashes_done for report in reports]
    assert done == sorted(done)
    assert done[-1] == proof.nonce + 1  # the search starts at nonce 0
    for report in reports:
        assert report.expected_total == 2**16
        assert report.expected_remaining == max(0, 2**16 - report.hashes_done)
        assert report.rate_per_s > 0


def test_single_core_solve_can_be_cancelled():
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(SolveCancelled):
        solve(block_hash(3), tx_id(3), 60, cancel=cancel)


def test_parallel_solve_uses_striped_workers_and_is_verified():
    reports: list[SolveProgress] = []
    proof = solve_parallel(block_hash(4), tx_id(4), 12, tier=1, workers=2, progress=reports.append)
    assert check_work(proof, 12) == proof.work()
    assert reports and reports[-1].hashes_done > 0
    # A striped search finds the first solution of some worker's chunk sequence: at most one
    # chunk per worker past the single-core answer.
    single = solve(block_hash(4), tx_id(4), 12)
    assert proof.nonce < single.nonce + 2 * CHUNK_NONCES
    assert not multiprocessing.active_children()


def test_parallel_solve_reports_progress_and_can_be_cancelled():
    cancel = threading.Event()
    reports: list[SolveProgress] = []

    def on_progress(report: SolveProgress) -> None:
        reports.append(report)
        if report.hashes_done >= 4 * CHUNK_NONCES:
            cancel.set()

    timer = threading.Timer(20.0, cancel.set)  # bound the test even if progress never comes
    timer.start()
    started = time.perf_counter()
    try:
        with pytest.raises(SolveCancelled):
            solve_parallel(
                block_hash(5),
                tx_id(5),
                60,
                workers=2,
                progress=on_progress,
                cancel=cancel,
                progress_interval=0.05,
            )
    finally:
        timer.cancel()
    assert time.perf_counter() - started < 15.0
    assert any(report.hashes_done >= 4 * CHUNK_NONCES for report in reports)
    done = [report.hashes_done for report in reports]
    assert done == sorted(done)
    for report in reports:
        assert report.expected_remaining == 2**60 - report.hashes_done
    assert not multiprocessing.active_children()


@pytest.mark.parametrize("bits", [0, 65])
def test_invalid_difficulty_is_rejected(bits):
    with pytest.raises(MalformedProof):
        solve(block_hash(1), tx_id(1), bits)
    with pytest.raises(MalformedProof):
        solve_parallel(block_hash(1), tx_id(1), bits, workers=1)


@pytest.mark.parametrize("tier", [0, 256])
def test_invalid_tier_is_rejected_before_solving(tier):
    with pytest.raises(MalformedProof, match="tier"):
        solve(block_hash(1), tx_id(1), 60, tier=tier)
    with pytest.raises(MalformedProof, match="tier"):
        solve_parallel(block_hash(1), tx_id(1), 60, tier=tier, workers=2)


def test_invalid_worker_count_is_rejected():
    with pytest.raises(MalformedProof):
        solve_parallel(block_hash(1), tx_id(1), 4, workers=0)


def test_parallel_solve_with_one_worker_matches_the_single_core_search():
    reports: list[SolveProgress] = []
    proof = solve_parallel(block_hash(6), tx_id(6), 10, tier=2, workers=1, progress=reports.append)
    assert proof == solve(block_hash(6), tx_id(6), 10, tier=2)
    assert reports[-1].hashes_done == proof.nonce + 1
