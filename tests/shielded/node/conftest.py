"""Fixtures shared by the node tests that author blocks in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from shielded.circuits.artifacts import load_proving
from shielded.node.genesis import (
    GenesisConfig,
    ValidatorSecrets,
    create_devnet,
    load_account_key,
    load_validator_secrets,
)
from shielded.notes.keys import SpendingKey
from shielded.service import PoolConfig, PoolState
from shielded.transaction import Payment, Transaction, TransactionPlan, build_transaction


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenesisConfig]:
    """A 6-validator genesis with 1 s slots that started long ago (every slot is open)."""
    directory = tmp_path_factory.mktemp("devnet")
    config = create_devnet(directory, validators=6, slot_duration=1.0, genesis_delay=-10_000)
    return directory, config


@pytest.fixture(scope="module")
def validator_keys(devnet: tuple[Path, GenesisConfig]) -> list[ValidatorSecrets]:
    """Every genesis validator's secrets, by index."""
    directory, config = devnet
    return [load_validator_secrets(directory, i) for i in range(config.validators_count)]


@pytest.fixture(scope="module")
def deposits(devnet: tuple[Path, GenesisConfig]) -> list[Transaction]:
    """Two proven deposits into one recipient's address, valid at epoch 0."""
    directory, config = devnet
    keys = load_proving(directory / "circuit", config.vk_hash)
    chain_id = bytes.fromhex(config.chain_id)
    # The devnet's genesis pool.
    state = PoolState.genesis(PoolConfig(chain_id=chain_id), config.balances())
    recipient = SpendingKey.from_seed(b"recipient".ljust(32, b"\0"))
    made = []
    for account, amount in (("alice", 1_000), ("bob", 2_000)):
        plan = TransactionPlan(
            anchor=state.trees.anchor,
            epoch=0,
            lifetime=state.config.lifetime,
            change_key=recipient,
            chain_id=chain_id,
            payments=(Payment(recipient.address, amount),),
            deposit_from=load_account_key(directory, account),
            deposit_amount=amount,
        )
        made.append(build_transaction(keys, plan))
    return made
