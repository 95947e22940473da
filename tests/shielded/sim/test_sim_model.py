"""The state-growth model: reproducibility, conservation, plateaus and fees by the pool's rule."""

from __future__ import annotations

import numpy as np
import pytest

from shielded import fees
from shielded.service import PoolConfig
from shielded.sim.model import COLUMNS, Simulation, simulate
from shielded.sim.params import Policy, SimulationParams
from shielded.sim.pricing import FeeTable
from shielded.spec import DEVNET

SMALL = SimulationParams(users=3_000, epochs=60, lifetime=6, seed=7)


def test_same_seed_gives_the_same_run() -> None:
    first, second = simulate(SMALL), simulate(SMALL)
    for name in COLUMNS:
        assert np.array_equal(first.columns[name], second.columns[name]), name
    assert first.totals == second.totals


def test_another_seed_gives_another_run() -> None:
    first, other = simulate(SMALL), simulate(SMALL.replace(seed=8))
    assert not np.array_equal(first.columns["state_bytes"], other.columns["state_bytes"])


@pytest.mark.parametrize("policy", list(Policy))
def test_notes_are_conserved_and_holdings_match_the_window(policy: Policy) -> None:
    simulation = Simulation(SMALL.replace(policy=policy, renew_rate=0.7, abandon_rate=0.8))
    for _ in range(SMALL.epochs):
        simulation.step()
        held_e = int(simulation.held_ephemeral[simulation.present].sum())
        held_p = int(simulation.held_permanent[simulation.present].sum())
        assert held_e == int(simulation.owned.sum())
        assert held_p == simulation.permanent_owned
        assert not simulation.held_ephemeral[~simulation.present].any()
        assert (simulation.held_ephemeral >= 0).all() and (simulation.held_permanent >= 0).all()
        assert (simulation.owned >= 0).all() and (simulation.abandoned >= 0).all()
    created = simulation.created
    assert created == simulation.live_notes() + simulation.spent + simulation.expired
    assert created > 0 and simulation.spent > 0
    if policy is Policy.EPHEMERAL:
        assert simulation.expired > 0
    else:
        assert simulation.expired == 0


def test_permanent_only_grows_without_bound_while_ephemeral_plateaus() -> None:
    base = SimulationParams(
        users=4_000, epochs=240, lifetime=8, seed=3, collateral_uptake=0, personhood_uptake=0
    )
    permanent = simulate(base.replace(policy=Policy.PERMANENT)).columns["state_bytes"]
    ephemeral = simulate(base.replace(policy=Policy.EPHEMERAL)).columns["state_bytes"]
    # Permanent-only: every transaction adds leaves and nullifiers for good.
    assert (np.diff(permanent[10:]) > 0).all()
    assert permanent[-1] > 1.4 * permanent[160]
    # Ephemeral: after the live window fills, state stays within a narrow band.
    assert abs(ephemeral[-1] - ephemeral[160]) < 0.1 * ephemeral[160]
    assert ephemeral[-1] < permanent[-1] / 5


def test_ephemeral_without_tier_uptake_keeps_the_permanent_tree_empty() -> None:
    result = simulate(SMALL.replace(collateral_uptake=0, personhood_uptake=0))
    assert not result.columns["permanent_notes"].any()
    assert not result.columns["locked_collateral"].any()
    live = simulate(SMALL.replace(policy=Policy.PERMANENT)).columns["live_leaves"]
    assert not live.any()


def test_fees_are_transactions_times_the_pools_quote() -> None:
    params = SimulationParams(
        users=2_000,
        epochs=30,
        lifetime=10,
        arrival_rate=0,
        departure_rate=0,
        pay_rate=0.3,
        split_rate=0,
        consolidate_rate=0,
        withdraw_rate=0,
        deposit_rate=0,
        renew_rate=1.0,
        collateral_uptake=0,
        personhood_uptake=0,
        spam_proof_share=0,
    )
    result = simulate(params)
    quote = fees.quote(
        fees.Transfer(fees.Outputs(ephemeral_lifetimes=(params.lifetime,) * 2), spam_proof=False),
        DEVNET,
    )
    assert result.columns["users"][0] == params.users
    later = result.columns["transactions"][1:]
    assert (later > 0).all()
    assert np.array_equal(result.columns["fees_burned"][1:], later * quote)
    assert result.columns["fees_burned"][0] == 0  # epoch 0: every user deposits, for free


@pytest.mark.parametrize("permanent", [0, 1, 2])
@pytest.mark.parametrize("spam_proof", [False, True])
def test_fee_table_quotes_what_shielded_fees_quotes(permanent: int, spam_proof: bool) -> None:
    table = FeeTable(PoolConfig())
    lifetime = DEVNET.note_lifetime_epochs
    outputs = fees.Outputs((lifetime,) * (2 - permanent), permanent)
    assert table.transfer(permanent, spam_proof) == fees.quote(
        fees.Transfer(outputs, spam_proof), DEVNET
    )
    assert table.withdrawal(5_000, permanent, spam_proof, 10**9, 300) == fees.quote(
        fees.Withdrawal(5_000, 10**9, 300, outputs, spam_proof), DEVNET
    )
