"""Sweeps run one model per value in worker processes and give the same runs as in-process."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

from shielded.sim.errors import SimulationError
from shielded.sim.model import simulate
from shielded.sim.params import Policy, SimulationParams
from shielded.sim.sweep import parse_sweep, run_sweep, sweep_params

BASE = SimulationParams(users=1_500, epochs=25, lifetime=4, seed=11)


def test_parse_sweep_types_values() -> None:
    assert parse_sweep("lifetime=4,8, 16") == ("lifetime", [4, 8, 16])
    assert parse_sweep("policy=permanent,ephemeral") == (
        "policy",
        [Policy.PERMANENT, Policy.EPHEMERAL],
    )


@pytest.mark.parametrize("text", ["lifetime", "lifetime=", "=4,8", "lifetime=4,x"])
def test_invalid_sweep_text_is_rejected(text: str) -> None:
    with pytest.raises(SimulationError):
        parse_sweep(text)


def test_invalid_sweep_value_names_the_range() -> None:
    with pytest.raises(SimulationError, match="lifetime = 99 out of range"):
        sweep_params(BASE, "lifetime", [4, 99])


def test_sweep_runs_in_worker_processes_and_matches_direct_runs() -> None:
    runs = sweep_params(BASE, "lifetime", [2, 6])
    results = run_sweep(runs, workers=2)
    assert [r.params.lifetime for r in results] == [2, 6]
    assert all(r.process != os.getpid() for r in results)
    for result, params in zip(results, runs, strict=True):
        direct = simulate(params)
        assert np.array_equal(result.columns["state_bytes"], direct.columns["state_bytes"])


@pytest.mark.skipif(importlib.util.find_spec("ray") is not None, reason="ray is installed")
def test_ray_engine_without_ray_says_how_to_install_it() -> None:
    with pytest.raises(SimulationError, match="--engine ray needs Ray.*pip install"):
        run_sweep([BASE], engine="ray")


def test_unknown_engine_is_rejected() -> None:
    with pytest.raises(SimulationError, match="engine 'spark'"):
        run_sweep([BASE], engine="spark")
