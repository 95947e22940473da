"""Transaction builder: note selection properties, the chain clock's epoch arithmetic,
payment validation, and waiting for a transaction (canonical inclusion, reorgs)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shielded.circuits.artifacts import ProvingArtifacts
from shielded.node.jsonrpc import Dispatcher, Params
from shielded.node.pool_rpc import TransactionParams
from shielded.notes.keys import SpendingKey
from shielded.notes.note import Tier
from tests.wallet.conftest import ServedDispatcher
from wallet.accounts import AccountKeys
from wallet.builder import (
    MAX_INPUTS,
    ChainClock,
    SendError,
    TransactionBuilder,
    payment,
    select_notes,
)
from wallet.rpc import NodeClient
from wallet.store import OwnedNote


def owned(index: int, value: int) -> OwnedNote:
    return OwnedNote(
        commitment=index.to_bytes(32, "big"),
        account=0,
        value=value,
        expiry_epoch=10,
        permanent=False,
        position=index,
        nullifier=(index + 1 << 128).to_bytes(32, "big"),
        note=b"{}",
        memo=b"",
        received_height=1,
    )


values = st.lists(st.integers(min_value=0, max_value=10**12), max_size=12)


@given(values, st.integers(min_value=1, max_value=4 * 10**12))
def test_selection_covers_the_target_with_at_most_two_notes(
    amounts: list[int], target: int
) -> None:
    notes = [owned(i, v) for i, v in enumerate(amounts)]
    ranked = sorted(amounts)
    total = sum(amounts)
    try:
        chosen = select_notes(notes, target)
    except SendError as error:
        if total < target:
            assert str(error) == f"insufficient spendable funds: need {target}, have {total}"
        else:
            assert sum(ranked[-MAX_INPUTS:]) < target
            assert "consolidate" in str(error) and f"{len(notes)} notes hold {total}" in str(error)
        return
    assert 1 <= len(chosen) <= MAX_INPUTS
    assert sum(n.value for n in chosen) >= target
    assert len({n.commitment for n in chosen}) == len(chosen)
    assert all(n in notes for n in chosen)
    covering = [v for v in amounts if v >= target]
    if covering:  # the smallest single note that covers it
        assert [n.value for n in chosen] == [min(covering)]
    else:  # a pair, only when no single note suffices, smallest partner of the largest
        assert len(chosen) == 2
        assert chosen[1].value == ranked[-1]
        partners = [v for v in ranked[:-1] if v + ranked[-1] >= target]
        assert chosen[0].value == partners[0]


@given(values)
def test_zero_target_needs_no_notes(amounts: list[int]) -> None:
    assert select_notes([owned(i, v) for i, v in enumerate(amounts)], 0) == []


def test_selection_messages_distinguish_short_funds_from_dust() -> None:
    dust = [owned(i, 10) for i in range(5)]
    with pytest.raises(SendError, match="needs more than 2 notes .5 notes hold 50.: consolidate"):
        select_notes(dust, 30)
    with pytest.raises(SendError, match="insufficient spendable funds: need 51, have 50"):
        select_notes(dust, 51)
    with pytest.raises(SendError, match="insufficient spendable funds: need 1, have 0"):
        select_notes([], 1)
    assert [n.value for n in select_notes(dust, 20)] == [10, 10]


def test_negative_target_is_refused() -> None:
    with pytest.raises(SendError, match="negative"):
        select_notes([owned(0, 5)], -1)


def test_chain_clock_epochs() -> None:
    status = {"genesis_time": 1000.0, "slot_duration": 2.0, "epoch_length": 12, "other": 1}
    clock = ChainClock.of(status)
    assert clock == ChainClock(1000.0, 2.0, 12)
    epoch_seconds = 2.0 * 12
    assert clock.epoch_at(0.0) == 0  # before genesis: epoch 0, never negative
    assert clock.epoch_at(1000.0) == 0
    assert clock.epoch_at(1000.0 + epoch_seconds - 0.001) == 0
    assert clock.epoch_at(1000.0 + epoch_seconds) == 1
    assert clock.epoch_at(1000.0 + 7 * epoch_seconds + 3.0) == 7


@given(
    st.floats(min_value=0, max_value=2e9),
    st.floats(min_value=0.1, max_value=60),
    st.integers(min_value=1, max_value=600),
    st.integers(min_value=0, max_value=10_000_000),
    st.floats(min_value=0.05, max_value=0.95),
)
def test_chain_clock_epoch_is_slot_over_epoch_length(
    genesis: float, slot: float, length: int, slot_index: int, within: float
) -> None:
    """A moment inside slot k (away from its float-rounded edges) lies in epoch k // length."""
    clock = ChainClock(genesis, slot, length)
    moment = genesis + (slot_index + within) * slot
    epoch = clock.epoch_at(moment)
    assert epoch == slot_index // length
    assert clock.epoch_at(moment + slot * length) == epoch + 1
    assert clock.epoch_at(moment - slot * length) == max(0, epoch - 1)


def test_payment_to_a_valid_address() -> None:
    key = SpendingKey.from_seed(b"builder-test".ljust(32, b"\0"))
    address = key.address.encode()
    made = payment(address, 5, Tier.EPHEMERAL, b"memo")
    assert (made.address, made.value, made.tier, made.memo) == (
        key.address,
        5,
        Tier.EPHEMERAL,
        b"memo",
    )


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("", "lacks hrp"),
        ("not an address", "characters outside"),
        ("jsh1qqqqqqqqqqqqqq", "checksum"),
        ("MiXeD1qqqqqqqqq", "mixes upper and lower"),
    ],
)
def test_payment_rejects_malformed_addresses(address: str, reason: str) -> None:
    with pytest.raises(SendError, match=f"invalid address .*{reason}"):
        payment(address, 5)


def test_payment_rejects_a_corrupted_checksum_and_a_foreign_network() -> None:
    key = SpendingKey.from_seed(b"builder-test".ljust(32, b"\0"))
    address = key.address.encode()
    flipped = address[:-1] + ("q" if address[-1] != "q" else "p")
    with pytest.raises(SendError, match="checksum"):
        payment(flipped, 5)
    with pytest.raises(SendError, match="expected"):
        payment(key.address.encode("other"), 5)


@pytest.mark.parametrize("amount", [0, -1])
def test_payment_rejects_non_positive_amounts(amount: int) -> None:
    key = SpendingKey.from_seed(b"builder-test".ljust(32, b"\0"))
    with pytest.raises(SendError, match="amount"):
        payment(key.address.encode(), amount)


class StatusNode:
    """A JSON-RPC node whose transaction statuses follow a script, one entry per poll."""

    def __init__(self, script: list[dict[str, Any]]) -> None:
        self.script = script
        self.polls = 0
        dispatcher = Dispatcher()

        @dispatcher.method("system_status")
        def status(_: Params) -> dict[str, Any]:
            return {"genesis_time": 0.0, "slot_duration": 1.0, "epoch_length": 12}

        @dispatcher.method("pool_getTransactionStatus", TransactionParams)
        def transaction_status(_: TransactionParams) -> dict[str, Any]:
            entry = self.script[min(self.polls, len(self.script) - 1)]
            self.polls += 1
            return entry

        self.served = ServedDispatcher(dispatcher)

    def builder(self) -> TransactionBuilder:
        def no_proving() -> ProvingArtifacts:
            raise AssertionError("waiting never proves")

        return TransactionBuilder(
            NodeClient(self.served.url), AccountKeys(0, bytes(64)), no_proving, bytes(32)
        )


TX = "ab" * 32
PENDING = {"status": "pending"}
IN_FORK = {"status": "included", "height": 5, "block": "cd" * 32, "final": False}


@pytest.mark.parametrize(
    ("script", "final", "polls"),
    [
        ([PENDING, {**IN_FORK, "canonical": True}], False, 2),
        ([{**IN_FORK, "canonical": True}, {**IN_FORK, "canonical": True, "final": True}], True, 2),
        # Included on a branch that then lost, re-included on the canonical one.
        ([{**IN_FORK, "canonical": False}, {**IN_FORK, "height": 6, "canonical": True}], False, 2),
    ],
)
def test_wait_returns_once_canonically_included(
    script: list[dict[str, Any]], final: bool, polls: int
) -> None:
    node = StatusNode(script)
    try:
        status = node.builder().wait(TX, final=final, timeout=30)
        assert status == script[polls - 1] and node.polls == polls
    finally:
        node.served.close()


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ([PENDING, {"status": "rejected", "reason": "double spend"}], "rejected: double spend"),
        ([{**IN_FORK, "canonical": False, "final": True}], "block #5, which a reorganisation"),
    ],
)
def test_wait_reports_rejection_and_a_dropped_inclusion(
    script: list[dict[str, Any]], message: str
) -> None:
    node = StatusNode(script)
    try:
        with pytest.raises(SendError, match=message):
            node.builder().wait(TX, final=True, timeout=30)
    finally:
        node.served.close()


def test_wait_gives_up_at_the_timeout() -> None:
    node = StatusNode([PENDING])
    try:
        with pytest.raises(SendError, match="not final yet"):
            node.builder().wait(TX, final=True, timeout=0.8)
    finally:
        node.served.close()
