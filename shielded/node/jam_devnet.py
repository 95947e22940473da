"""A devnet directory's genesis on jamcore's rules: sigma_0 with the shielded pool as a service.

Every validator of a devnet derives the same sigma_0 (graypaper eq. 4.4) from the devnet's
`genesis.json` alone, so they agree on the genesis state root without exchanging it: the
validators and Safrole state of the genesis, the pool as service `POOL_SERVICE_ID` with its
genesis storage items (an empty pool, the funded transparent accounts, the spam-proof window
on eta_0) and in chi_Z (accumulated every block, eq. 12.18), the registrar that deploys PVM
services (`shielded.native_registrar`, in chi_R), the finality service holding the OSST keys,
their reshare rounds and proven vote equivocations (`shielded.native_finality`, in chi_Z
too), and the accept-all authorizer hosted by the
pool (`jam_genesis.genesis_state`).

The pool's refine and accumulate are native Python run through the service interface and
host calls (`jamcore.pvm.invocations.native`): a Groth16 verifier interpreted in the PVM
would take seconds per proof.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jamcore.pvm.invocations.native import NativeService
from jamcore.state.state import State
from shielded.circuits.artifacts import load_verifying
from shielded.circuits.spend import SpendVerifier
from shielded.native_finality import FINALITY_CODE_HASH, NativeFinality, finality_service
from shielded.native_pool import NATIVE_POOL_CODE_HASH, NativePool, genesis_service
from shielded.native_registrar import REGISTRAR_CODE_HASH, NativeRegistrar, registrar_service
from shielded.node.genesis import GenesisConfig
from shielded.node.jam_genesis import genesis_state
from shielded.service import PoolConfig

POOL_SERVICE_ID = 1
"""The pool's service id on every devnet."""
REGISTRAR_SERVICE_ID = 2
"""The registrar's service id: `shielded devnet service deploy` goes through it."""
FINALITY_SERVICE_ID = 3
"""The finality service's id: proven OSST vote equivocations (`shielded.native_finality`)."""
POOL_BALANCE = 10**12
"""The pool account's balance a_b (eq. 9.8): pays for its storage footprint (a_t)."""
POOL_MIN_ITEM_GAS = 1_000
POOL_MIN_MEMO_GAS = 100
POOL_FREE_GAS = 5_000_000
"""chi_Z's gas for the pool each block (eq. 12.18): its epoch turn and spam window."""
FINALITY_FREE_GAS = 1_000_000
"""chi_Z's gas for the finality service each block: closing a reshare round at an epoch's
first block."""


@dataclass(frozen=True)
class DevnetGenesis:
    """sigma_0 and the native code every validator runs (code hash -> service)."""

    state: State
    natives: dict[bytes, NativeService]
    pool_config: PoolConfig


def devnet_genesis(directory: Path, config: GenesisConfig) -> DevnetGenesis:
    """sigma_0 of the devnet in `directory` and its native pool, whose spend verifier uses
    the verifying key pinned by `config.vk_hash` (CircuitError if the file differs) and
    which accepts only transactions for the genesis chain id."""
    spec = config.chain_spec()
    pool_config = PoolConfig(chain_id=bytes.fromhex(config.chain_id))
    verifying = load_verifying(directory / "circuit", config.vk_hash)
    entropy = config.safrole_state().entropy[0]
    service = genesis_service(
        POOL_SERVICE_ID,
        pool_config,
        config.balances(),
        entropy,
        balance=POOL_BALANCE,
        min_item_gas=POOL_MIN_ITEM_GAS,
        min_memo_gas=POOL_MIN_MEMO_GAS,
    )
    state = genesis_state(
        config,
        [
            service,
            registrar_service(REGISTRAR_SERVICE_ID),
            finality_service(FINALITY_SERVICE_ID, config.epoch_keys()),
        ],
        always_accumulate={POOL_SERVICE_ID: POOL_FREE_GAS, FINALITY_SERVICE_ID: FINALITY_FREE_GAS},
        registrar=REGISTRAR_SERVICE_ID,
    )
    natives: dict[bytes, NativeService] = {
        NATIVE_POOL_CODE_HASH: NativePool(pool_config, SpendVerifier(verifying), spec),
        REGISTRAR_CODE_HASH: NativeRegistrar(),
        FINALITY_CODE_HASH: NativeFinality(
            bytes.fromhex(config.chain_id), config.validator_keys(), spec.epoch_length
        ),
    }
    return DevnetGenesis(state, natives, pool_config)
