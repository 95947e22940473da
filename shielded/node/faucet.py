"""The devnet faucet: a deposit from the faucet account into a shielded address, proved by
the validator that offers it (`faucet_request` RPC), on either validator program."""

from __future__ import annotations

import asyncio
import inspect
import time
from pathlib import Path

from shielded.circuits.artifacts import ProvingArtifacts, load_proving
from shielded.node.genesis import GenesisConfig, load_account_key
from shielded.node.pool_rpc import PoolNode
from shielded.notes.address import ShieldedAddress
from shielded.notes.keys import SpendingKey
from shielded.transaction import (
    Payment,
    TransactionError,
    TransactionPlan,
    build_transaction,
)

PROVING_ESTIMATE_S = 3.0
"""How long a Groth16 spend proof takes here, to aim a transaction at the right epoch."""
ATTEMPTS = 3
"""An epoch may turn while proving: the deposit is proved again for the new one."""


class Faucet:
    """The faucet of the devnet in `directory` (present if `accounts/faucet.json` is)."""

    def __init__(self, directory: Path, config: GenesisConfig) -> None:
        self.directory = directory
        self.config = config
        self._proving: ProvingArtifacts | None = None

    @property
    def available(self) -> bool:
        return (self.directory / "accounts" / "faucet.json").exists()

    async def deposit(
        self, node: PoolNode, address: ShieldedAddress, amount: int
    ) -> tuple[bytes, str | None]:
        """Deposit `amount` to `address` (proved in a thread) and submit it through `node`;
        (tx id, None) or (tx id, why it failed)."""
        if self._proving is None:
            self._proving = await asyncio.to_thread(
                load_proving, self.directory / "circuit", self.config.vk_hash
            )
        faucet_key = load_account_key(self.directory, "faucet")
        chain_id = bytes.fromhex(self.config.chain_id)
        seed = b"jam-shielded/faucet-change" + chain_id
        change = SpendingKey.from_seed(seed)
        error: str | None = "not attempted"
        tx_id = bytes(32)
        for _attempt in range(ATTEMPTS):
            state = node.pool_snapshot().state
            ready = time.time() + PROVING_ESTIMATE_S + self.config.slot_duration
            epoch = self.config.slot_at(ready) // node.epoch_length
            plan = TransactionPlan(
                anchor=state.trees.anchor,
                epoch=epoch,
                lifetime=state.config.lifetime,
                change_key=change,
                chain_id=chain_id,
                payments=(Payment(address, amount),),
                fee=0,
                deposit_from=faucet_key,
                deposit_amount=amount,
            )
            try:
                transaction = await asyncio.to_thread(build_transaction, self._proving, plan)
            except TransactionError as failure:
                return bytes(32), str(failure)
            result = node.submit_transaction(transaction.encode())
            tx_id, error = await result if inspect.isawaitable(result) else result
            if error is None:
                break
        return tx_id, error
