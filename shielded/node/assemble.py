"""Assembling a node's chain: the Safrole core plus the pool and finality layers.

Validators, benchmarks and tests build their chain here so that all of them check blocks
exactly the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from shielded.circuits.artifacts import load_verifying
from shielded.circuits.spend import SpendVerifier
from shielded.node.chain import Chain
from shielded.node.finality_layer import FinalityLayer
from shielded.node.genesis import GenesisConfig, ValidatorSecrets
from shielded.node.guarantees import build_guarantee, guarantees_extrinsic
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


def author_slot(
    chain: Chain,
    validators: Sequence[ValidatorSecrets],
    slot: int,
    reports: Mapping[int, bytes] | None = None,
) -> bytes:
    """The block of `slot` by whichever of `validators` Safrole gives it, carrying one work
    report per entry of `reports` (service id -> refined output) guaranteed by that author.
    For tools that hold every validator's keys in one process (benchmarks, tests)."""
    for secrets in validators:
        extrinsic = None
        if reports:
            extrinsic = guarantees_extrinsic(
                [
                    build_guarantee(
                        service,
                        [output],
                        chain.refine_context(),
                        slot,
                        secrets.index,
                        secrets.signing_key,
                    )
                    for service, output in sorted(reports.items())
                ]
            )
        block = chain.author_block(slot, secrets, extrinsic=extrinsic)
        if block is not None:
            return block
    raise ValueError(f"none of the {len(validators)} validators may author slot {slot}")
