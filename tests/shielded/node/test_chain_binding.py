"""Two devnets made on one machine share the cached setup and the identical empty-pool
genesis anchor; a transaction of one is refused by the other's pool, by name (issue 22:
transactions are bound to the genesis chain id)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shielded.circuits.artifacts import load_proving
from shielded.native_pool import NativePool
from shielded.native_pool_refine import refine_transaction
from shielded.node.genesis import GenesisConfig, create_devnet, load_account_key
from shielded.node.jam_devnet import devnet_genesis
from shielded.notes.keys import SpendingKey
from shielded.service import PoolState, Rejected, verify_proofs
from shielded.transaction import Payment, Transaction, TransactionPlan, build_transaction


def native_pool(directory: Path, config: GenesisConfig) -> NativePool:
    """The pool service every validator of the devnet runs."""
    pool = next(
        native
        for native in devnet_genesis(directory, config).natives.values()
        if isinstance(native, NativePool)
    )
    assert pool.config.chain_id == bytes.fromhex(config.chain_id)
    return pool


def alice_deposit(directory: Path, config: GenesisConfig) -> Transaction:
    """A proven deposit from the devnet's funded alice account at its genesis anchor."""
    pool = native_pool(directory, config)
    anchor = PoolState.genesis(pool.config, config.balances()).trees.anchor
    recipient = SpendingKey.from_seed(b"chain binding".ljust(32, b"\0"))
    plan = TransactionPlan(
        anchor=anchor,
        epoch=0,
        lifetime=pool.config.lifetime,
        change_key=recipient,
        chain_id=bytes.fromhex(config.chain_id),
        payments=(Payment(recipient.address, 1_000),),
        deposit_from=load_account_key(directory, "alice"),
        deposit_amount=1_000,
    )
    return build_transaction(load_proving(directory / "circuit", config.vk_hash), plan)


def test_invalid_transaction_of_another_devnet_is_refused_with_its_reason(
    tmp_path: Path,
) -> None:
    made = {
        name: (tmp_path / name, create_devnet(tmp_path / name, validators=1, base_port=40_000))
        for name in ("first", "second")
    }
    (first_dir, first), (second_dir, second) = made["first"], made["second"]
    assert first.vk_hash == second.vk_hash  # one cached setup
    transaction = alice_deposit(first_dir, first)
    # The validators of the first devnet take it (the node's check on submission) ...
    own = native_pool(first_dir, first)
    verify_proofs(transaction, own.proofs)
    assert refine_transaction(transaction.encode(), own.proofs) is not None
    # ... the second devnet's refuse it and say why, in submission and in refine.
    other = native_pool(second_dir, second)
    reason = f"transaction is for chain 0x{first.chain_id}, this is 0x{second.chain_id}"
    with pytest.raises(Rejected) as refused:
        verify_proofs(transaction, other.proofs)
    assert str(refused.value) == reason
    assert refine_transaction(transaction.encode(), other.proofs) is None
