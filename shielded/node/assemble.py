"""Assembling a node's chain: the Safrole core plus the pool and finality layers.

Validators, benchmarks and tests build their chain here so that all of them check blocks
exactly the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shielded.circuits.artifacts import load_verifying
from shielded.circuits.spend import SpendVerifier
from shielded.node.chain import Chain
from shielded.node.finality_layer import FinalityLayer
from shielded.node.genesis import GenesisConfig
from shielded.node.pool_layer import PoolLayer
from shielded.node.storage import ChainStore
from shielded.service import PoolConfig


@dataclass(frozen=True)
class AssembledChain:
    """A chain with its layers."""

    chain: Chain
    pool: PoolLayer
    finality: FinalityLayer


def assemble_chain(directory: Path, config: GenesisConfig, store: ChainStore) -> AssembledChain:
    """The chain of a devnet in `directory` over `store`, with the pool (whose verifying key
    must match the genesis hash) and finality layers."""
    chain_id = bytes.fromhex(config.chain_id)
    finality = FinalityLayer(
        chain_id,
        config.epoch_keys(),
        config.validator_keys(),
        config.chain_spec().epoch_length,
    )
    verifying = load_verifying(directory / "circuit", config.vk_hash)
    pool = PoolLayer(
        SpendVerifier(verifying),
        PoolConfig(),
        config.balances(),
        config.validator_keys(),
        config.chain_spec().epoch_length,
    )
    chain = Chain(config, store, layers=[pool, finality])
    return AssembledChain(chain, pool, finality)
