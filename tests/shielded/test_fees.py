"""Information-priced fees: the formula, its monotonicity, checks and the burn ledger."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from shielded.fees import (
    Deposit,
    FeeError,
    FeeLedger,
    FeeTooLow,
    Outputs,
    Transfer,
    Withdrawal,
    check,
    leak_fee,
    quote,
)
from shielded.spec import DEVNET, FeeSchedule, PoolSpec

N = DEVNET.note_lifetime_epochs
U64 = 2**64 - 1
SCHEDULE = DEVNET.fees

lifetimes = st.integers(min_value=1, max_value=N)
output_sets = st.builds(
    Outputs,
    ephemeral_lifetimes=st.lists(lifetimes, max_size=8).map(tuple),
    permanent_outputs=st.integers(min_value=0, max_value=8),
)
pool_values = st.integers(min_value=1, max_value=U64)
anonymity_sets = st.integers(min_value=1, max_value=10**9)


@st.composite
def withdrawals(draw: st.DrawFn) -> Withdrawal:
    pool_value = draw(pool_values)
    return Withdrawal(
        amount=draw(st.integers(min_value=0, max_value=pool_value)),
        pool_value=pool_value,
        anonymity_set=draw(anonymity_sets),
        outputs=draw(output_sets),
        spam_proof=draw(st.booleans()),
    )


actions = st.one_of(
    st.builds(Deposit, amount=st.integers(min_value=0, max_value=U64)),
    st.builds(Transfer, outputs=output_sets, spam_proof=st.booleans()),
    withdrawals(),
)


def test_formula_on_worked_examples():
    # 2 ephemeral outputs of 10 epochs and one permanent, paying instead of proving work.
    transfer = Transfer(Outputs(ephemeral_lifetimes=(10, 10), permanent_outputs=1))
    assert quote(transfer) == SCHEDULE.inclusion_fee + SCHEDULE.output_epoch_fee * (20 + 4_096)
    # The same outputs with a spam proof: ephemeral state within the allowance is free.
    assert quote(Transfer(transfer.outputs, spam_proof=True)) == SCHEDULE.output_epoch_fee * 4_096
    assert quote(Transfer(Outputs(ephemeral_lifetimes=(N, N)), spam_proof=True)) == 0
    # Withdrawing 1% of the pool at A = R doubles the linear leak price.
    reference = SCHEDULE.anonymity_reference
    exit_ = Withdrawal(amount=1_000, pool_value=100_000, anonymity_set=reference, spam_proof=True)
    assert leak_fee(1_000, 100_000, reference) == 2 * SCHEDULE.withdrawal_leak_fee // 100
    assert quote(exit_) == SCHEDULE.withdrawal_base_fee + 2 * SCHEDULE.withdrawal_leak_fee // 100


def test_leak_fee_rounds_up():
    spec = PoolSpec(fees=FeeSchedule(withdrawal_leak_fee=1, anonymity_reference=0))
    assert leak_fee(1, 3, 5, spec) == 1  # 1/3 of a base unit still costs one


@given(st.integers(min_value=0, max_value=U64))
def test_deposit_is_always_free(amount):
    assert quote(Deposit(amount)) == 0
    assert check(Deposit(amount), 0) == 0


@given(withdrawals(), st.integers(min_value=0, max_value=U64))
def test_larger_withdrawal_never_costs_less(exit_, other_amount):
    assume(other_amount <= exit_.pool_value)
    small, large = sorted((exit_.amount, other_amount))
    cost = [
        quote(Withdrawal(a, exit_.pool_value, exit_.anonymity_set, exit_.outputs, exit_.spam_proof))
        for a in (small, large)
    ]
    assert cost[0] <= cost[1]


@given(withdrawals(), anonymity_sets)
def test_bigger_anonymity_set_never_costs_more(exit_, other_set):
    small, large = sorted((exit_.anonymity_set, other_set))
    cost = [
        quote(Withdrawal(exit_.amount, exit_.pool_value, a, exit_.outputs, exit_.spam_proof))
        for a in (small, large)
    ]
    assert cost[0] >= cost[1]


@given(withdrawals(), pool_values)
def test_bigger_pool_never_costs_more(exit_, other_pool):
    assume(other_pool >= exit_.amount)
    small, large = sorted((exit_.pool_value, other_pool))
    cost = [
        quote(Withdrawal(exit_.amount, p, exit_.anonymity_set, exit_.outputs, exit_.spam_proof))
        for p in (small, large)
    ]
    assert cost[0] >= cost[1]


@given(output_sets, lifetimes, st.booleans())
def test_transfer_fee_is_monotone_in_outputs(outputs, extra_lifetime, spam_proof):
    more_ephemeral = Outputs(
        outputs.ephemeral_lifetimes + (extra_lifetime,), outputs.permanent_outputs
    )
    more_permanent = Outputs(outputs.ephemeral_lifetimes, outputs.permanent_outputs + 1)
    base = quote(Transfer(outputs, spam_proof))
    assert quote(Transfer(more_ephemeral, spam_proof)) >= base
    assert quote(Transfer(more_permanent, spam_proof)) > base


@given(output_sets, st.data(), st.booleans())
def test_transfer_fee_is_monotone_in_lifetime(outputs, data, spam_proof):
    assume(outputs.ephemeral_lifetimes)
    index = data.draw(st.integers(min_value=0, max_value=len(outputs.ephemeral_lifetimes) - 1))
    old = outputs.ephemeral_lifetimes[index]
    longer = data.draw(st.integers(min_value=old, max_value=N))
    lifetimes_ = list(outputs.ephemeral_lifetimes)
    lifetimes_[index] = longer
    extended = Outputs(tuple(lifetimes_), outputs.permanent_outputs)
    assert quote(Transfer(extended, spam_proof)) >= quote(Transfer(outputs, spam_proof))


@given(output_sets, st.data(), st.booleans())
def test_permanent_output_never_costs_less_than_ephemeral(outputs, data, spam_proof):
    assume(outputs.ephemeral_lifetimes)
    index = data.draw(st.integers(min_value=0, max_value=len(outputs.ephemeral_lifetimes) - 1))
    lifetimes_ = list(outputs.ephemeral_lifetimes)
    del lifetimes_[index]
    made_permanent = Outputs(tuple(lifetimes_), outputs.permanent_outputs + 1)
    assert quote(Transfer(made_permanent, spam_proof)) >= quote(Transfer(outputs, spam_proof))


@given(actions)
def test_check_accepts_the_quote_and_rejects_one_less(action):
    required = quote(action)
    assert check(action, required) == required
    assert check(action, required + 1) == required
    if required > 0:
        with pytest.raises(FeeTooLow, match=f"below the quote {required}"):
            check(action, required - 1)


@given(st.lists(st.tuples(actions, st.integers(min_value=0, max_value=1_000)), max_size=10))
def test_ledger_burns_a_running_total(payments):
    ledger = FeeLedger()
    total = 0
    for action, tip in payments:
        fee = quote(action) + tip
        ledger = ledger.burn(action, fee)
        total += fee
    assert ledger.burned == total
    assert ledger.burned >= ledger.burned_by_transfers + ledger.burned_by_withdrawals


def test_invalid_fee_is_rejected_and_burns_nothing():
    ledger = FeeLedger()
    transfer = Transfer(Outputs(ephemeral_lifetimes=(5,)))
    with pytest.raises(FeeTooLow):
        ledger.burn(transfer, quote(transfer) - 1)
    with pytest.raises(FeeError, match="fee -1"):
        check(transfer, -1)
    assert ledger == FeeLedger()


@pytest.mark.parametrize(
    "make",
    [
        lambda: Withdrawal(amount=11, pool_value=10, anonymity_set=5),
        lambda: Withdrawal(amount=0, pool_value=0, anonymity_set=5),
        lambda: Withdrawal(amount=1, pool_value=10, anonymity_set=0),
        lambda: Deposit(amount=-1),
        lambda: Outputs(ephemeral_lifetimes=(0,)),
        lambda: Outputs(permanent_outputs=-1),
    ],
)
def test_invalid_requests_are_rejected(make):
    with pytest.raises(FeeError):
        make()


def test_invalid_lifetime_beyond_the_note_lifetime_is_rejected():
    with pytest.raises(FeeError, match="exceeds the note lifetime"):
        quote(Transfer(Outputs(ephemeral_lifetimes=(N + 1,))))


def test_invalid_action_type_is_rejected():
    with pytest.raises(FeeError, match="cannot price"):
        quote("transfer")  # type: ignore[arg-type]
