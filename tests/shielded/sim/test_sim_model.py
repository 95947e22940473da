"""The state-growth model: reproducibility, conservation, plateaus and fees by the pool's rule."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shielded import fees
from shielded.service import PoolConfig
from shielded.sim.model import COLUMNS, Simulation, simulate
from shielded.sim.params import MAX_LIFETIME, Policy, SimulationParams
from shielded.sim.pricing import FeeTable, expected_hashes_per_proof, spam_proof_capacity_share
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


rates = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@settings(max_examples=30, deadline=None)
@given(
    users=st.integers(min_value=1, max_value=300),
    epochs=st.integers(min_value=1, max_value=25),
    lifetime=st.integers(min_value=1, max_value=MAX_LIFETIME),
    policy=st.sampled_from(list(Policy)),
    bands=st.lists(rates, min_size=7, max_size=7),
    renew_rate=rates,
    abandon_rate=rates,
    arrival_rate=rates,
    uptake=st.tuples(rates, rates),
    consolidate_above=st.integers(min_value=1, max_value=5),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_any_valid_parameters_conserve_notes(
    users: int,
    epochs: int,
    lifetime: int,
    policy: Policy,
    bands: list[float],
    renew_rate: float,
    abandon_rate: float,
    arrival_rate: float,
    uptake: tuple[float, float],
    consolidate_above: int,
    seed: int,
) -> None:
    total = sum(bands) or 1.0
    departure, pay, split, merge, withdraw, deposit, _ = (b / total * 0.999 for b in bands)
    params = SimulationParams(
        users=users,
        epochs=epochs,
        lifetime=lifetime,
        policy=policy,
        seed=seed,
        arrival_rate=arrival_rate,
        departure_rate=departure,
        pay_rate=pay,
        split_rate=split,
        consolidate_rate=merge,
        withdraw_rate=withdraw,
        deposit_rate=deposit,
        renew_rate=renew_rate,
        abandon_rate=abandon_rate,
        collateral_uptake=uptake[0] / 2,
        personhood_uptake=uptake[1] / 2,
        consolidate_above=consolidate_above,
    )
    simulation = Simulation(params)
    result = simulation.run()
    assert simulation.created == simulation.live_notes() + simulation.spent + simulation.expired
    assert (simulation.held_ephemeral >= 0).all() and (simulation.held_permanent >= 0).all()
    assert int(simulation.held_ephemeral.sum()) == int(simulation.owned.sum())
    for name in COLUMNS:
        assert (result.columns[name] >= 0).all(), name
    assert (result.columns["users"] <= users).all()


def test_spam_proof_work_follows_the_spec_tiers() -> None:
    spec = DEVNET
    quotas = [spec.tier_quota(n) for n in (1, 2)]
    bits = [tier.difficulty_bits for tier in spec.tiers]
    expected = (quotas[0] * 2 ** bits[0] + quotas[1] * 2 ** bits[1]) // sum(quotas)
    assert expected_hashes_per_proof(PoolConfig()) == expected
    assert spam_proof_capacity_share(PoolConfig()) == sum(quotas) / spec.block_capacity
    without = simulate(SMALL.replace(spam_proof_share=0.0)).columns["spam_proof_hashes"]
    assert not without.any()
    withproofs = simulate(SMALL.replace(spam_proof_share=1.0)).columns["spam_proof_hashes"]
    assert (withproofs[1:] % expected == 0).all() and withproofs[1:].all()
