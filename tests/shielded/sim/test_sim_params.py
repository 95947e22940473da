"""Simulation parameters: bad values raise SimulationError naming the parameter and range."""

from __future__ import annotations

import pytest

from shielded.sim.errors import SimulationError
from shielded.sim.params import MAX_LIFETIME, Policy, SimulationParams, coerce


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"users": 0}, "users = 0 out of range: expected an integer in [1, 50000000]"),
        ({"epochs": -1}, "epochs = -1"),
        ({"lifetime": MAX_LIFETIME + 1}, f"lifetime = {MAX_LIFETIME + 1} out of range"),
        ({"renew_rate": 1.5}, "renew_rate = 1.5 out of range: expected a number in [0.0, 1.0]"),
        ({"pay_rate": "0.1"}, "pay_rate = '0.1'"),
        ({"users": 2.5}, "users = 2.5"),
        ({"users": True}, "users = True"),
        ({"pay_rate": 0.9, "split_rate": 0.2}, "expected at most 1 (one action per user"),
        ({"collateral_uptake": 0.6, "personhood_uptake": 0.6}, "collateral_uptake + person"),
        ({"policy": "forever"}, "policy = 'forever': expected one of ['permanent', 'ephemeral']"),
    ],
)
def test_invalid_parameters_are_named_with_their_range(changes: dict, named: str) -> None:
    with pytest.raises(SimulationError) as caught:
        SimulationParams(**changes)
    assert named in str(caught.value)


def test_invalid_replace_names_unknown_parameters() -> None:
    with pytest.raises(SimulationError, match="unknown parameter.*'speed'"):
        SimulationParams().replace(speed=3)
    with pytest.raises(SimulationError, match="users = 0"):
        SimulationParams().replace(users=0)


def test_coerce_parses_by_parameter_type() -> None:
    assert coerce("lifetime", "8") == 8
    assert coerce("renew_rate", "0.5") == 0.5
    assert coerce("policy", "permanent") is Policy.PERMANENT
    with pytest.raises(SimulationError, match="lifetime = 'eight': expected an integer"):
        coerce("lifetime", "eight")
    with pytest.raises(SimulationError, match="unknown parameter 'colour'"):
        coerce("colour", "1")


def test_pool_config_prices_at_the_simulated_lifetime() -> None:
    params = SimulationParams(lifetime=5)
    assert params.pool_config.lifetime == 5
    assert params.pool_config.spec.fees == params.pool.spec.fees
