"""A full block's worth of pool transactions (64) in one package: refined within W_R and
accumulated within the gas the report and chi_Z give the pool."""

from __future__ import annotations

from pathlib import Path

from nacl.signing import SigningKey

from shielded.native_pool import NativePool
from shielded.node.genesis import GenesisConfig, ValidatorSecrets
from shielded.transaction import MAX_TRANSACTIONS_PER_BLOCK
from tests.shielded.node.test_jam_validator import (
    CONFIG,
    AcceptAll,
    Bus,
    fake,
    make_validators,
    outcome,
    run_until_accepted,
)

RICH = SigningKey(b"R" * 32)


def test_sixty_four_transactions_are_accumulated_in_one_block(
    tmp_path: Path, devnet: tuple[Path, GenesisConfig], validator_keys: list[ValidatorSecrets]
) -> None:
    config = devnet[1]
    spec = config.chain_spec()
    balances = {bytes(RICH.verify_key): 10**9}
    validators = make_validators(
        tmp_path,
        config,
        validator_keys,
        CONFIG,
        balances,
        lambda: NativePool(CONFIG, AcceptAll(), spec),
    )
    bus = Bus(validators)
    transactions = [
        fake(f"full/{i}", deposit=(RICH, 1_000 + i)) for i in range(MAX_TRANSACTIONS_PER_BLOCK)
    ]
    for transaction in transactions:
        bus.submit(0, transaction.encode())
    ids = [transaction.tx_id for transaction in transactions]
    accepted = run_until_accepted(bus, ids, 1, 10)
    # All in one block: one package, one accumulation.
    assert len(set(accepted.values())) == 1
    item = outcome(validators[3])
    assert len(item.accepted) == MAX_TRANSACTIONS_PER_BLOCK and not item.rejected
