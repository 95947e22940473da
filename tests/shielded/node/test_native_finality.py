"""The finality service and the equivocating author on six in-process `JamValidator`s:
a twin block is a valid graypaper block; evidence of two conflicting OSST votes is refined,
guaranteed, assured and accumulated into the finality service's storage; a forged one
records nothing."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from jamcore.block import header_hash
from shielded.finality.contribution import FinalityPayload, Vote, contribute
from shielded.finality.equivocation import EquivocationEvidence
from shielded.finality.group import Scalar, base_mul
from shielded.native_finality import (
    FINALITY_CODE_HASH,
    NativeFinality,
    evidence_payload,
    finality_service,
    proven_offenders,
)
from shielded.native_pool import NATIVE_POOL_CODE_HASH, NativePool, genesis_service
from shielded.node.genesis import GenesisConfig, ValidatorSecrets
from shielded.node.jam_finality import JamFinality, ServiceRound
from shielded.node.jam_genesis import genesis_state
from shielded.node.jam_validator import JamValidator
from shielded.node.shards import ShardStore
from shielded.node.storage import ChainStore
from tests.shielded.node.test_jam_validator import (
    BALANCES,
    CONFIG,
    FREE_GAS,
    POOL,
    AcceptAll,
    Bus,
    assert_converged,
)

FINALITY = 3


@pytest.fixture()
def validators(
    tmp_path: Path, devnet: tuple[Path, GenesisConfig], validator_keys: list[ValidatorSecrets]
) -> list[JamValidator]:
    """Six validators on a genesis with the pool and the finality service, both native."""
    config = devnet[1]
    spec = config.chain_spec()
    entropy = config.safrole_state().entropy[0]
    pool = genesis_service(
        POOL, CONFIG, BALANCES, entropy, balance=10**12, min_item_gas=1_000, min_memo_gas=100
    )
    genesis = genesis_state(
        config,
        [pool, finality_service(FINALITY, config.epoch_keys())],
        always_accumulate={POOL: FREE_GAS, FINALITY: 1_000_000},
    )
    natives = {
        NATIVE_POOL_CODE_HASH: NativePool(CONFIG, AcceptAll(), spec),
        FINALITY_CODE_HASH: NativeFinality(
            bytes.fromhex(config.chain_id), config.validator_keys(), spec.epoch_length
        ),
    }
    return [
        JamValidator(
            key.index,
            key,
            config,
            ChainStore(tmp_path / f"chain-{key.index}.sqlite"),
            natives,
            genesis=genesis,
            shards=ShardStore(tmp_path / f"shards-{key.index}.sqlite", spec),
            pool_service=POOL,
        )
        for key in validator_keys
    ]


def vote(config: GenesisConfig, secrets: ValidatorSecrets, slot: int, block: bytes) -> Vote:
    payload = FinalityPayload(bytes.fromhex(config.chain_id), slot, block)
    return Vote(payload, contribute(secrets.key_share, payload))


def offenders(validators: list[JamValidator]) -> list[dict[int, bytes]]:
    return [
        proven_offenders(v.head_state(), FINALITY, len(validators)) for v in validators
    ]


def test_an_equivocators_twin_is_a_valid_block_on_the_same_parent(
    validators: list[JamValidator],
) -> None:
    bus = Bus(validators)
    for validator in validators:
        validator.equivocate = True
    twins = 0
    for slot in range(1, 8):
        parent = validators[0].head_hash
        bus.slot(slot)
        sealer = next((v for v in validators if v.twin is not None and v.twin[0] == slot), None)
        if sealer is None:
            continue
        twin = sealer.chain.decode(sealer.twin[1])
        own = sealer.chain.head
        # The twin: same slot and parent as the block every validator imported, another hash.
        assert twin.header.slot == slot and twin.header.parent == parent == own.parent
        assert header_hash(twin.header, sealer.spec) != own.hash
        outcome = validators[(sealer.index + 1) % 6].import_block(sealer.twin[1])
        assert outcome.status == "fork"  # valid (imported, kept), not the canonical head
        sealer.twin = None
        twins += 1
    assert twins >= 3
    assert_converged(validators)
    assert not any(v.refused for v in validators)


def test_equivocation_evidence_is_proven_on_chain_and_forged_evidence_is_not(
    devnet: tuple[Path, GenesisConfig],
    validator_keys: list[ValidatorSecrets],
    validators: list[JamValidator],
) -> None:
    config = devnet[1]
    bus = Bus(validators)
    culprit = validator_keys[4]
    first = vote(config, culprit, 7, b"\x01" * 32)
    second = vote(config, culprit, 7, b"\x02" * 32)
    evidence = EquivocationEvidence.of(first, second)
    # Forged: validator 2's vote with its response altered, beside an honest one of its own.
    honest = vote(config, validator_keys[2], 7, b"\x03" * 32)
    altered = vote(config, validator_keys[2], 7, b"\x04" * 32)
    bump = Scalar(1)
    bad = replace(altered.contribution, response=altered.contribution.response + bump)
    forged = EquivocationEvidence.of(honest, replace(altered, contribution=bad))

    bus.send(0, validators[0].submit_work(FINALITY, evidence_payload(forged)))
    bus.send(1, validators[1].submit_work(FINALITY, evidence_payload(evidence)))
    bus.run()
    for slot in range(1, 16):
        bus.slot(slot)
        if all(found for found in offenders(validators)) and not any(
            v.services.requests or v.services.inflight for v in validators
        ):
            break
    expected = {4: bytes.fromhex(config.validators[4].ed25519)}
    assert offenders(validators) == [expected] * 6
    assert_converged(validators)
    # The same evidence again (every honest validator sends what it saw) changes nothing.
    root = validators[0].head_root()
    bus.send(3, validators[3].submit_work(FINALITY, evidence_payload(evidence)))
    bus.run()
    for later in range(slot + 1, slot + 8):
        bus.slot(later)
    assert offenders(validators) == [expected] * 6
    assert validators[0].head_root() != root  # blocks went on


def test_the_keys_are_reshared_through_the_finality_service_at_each_epoch_change(
    devnet: tuple[Path, GenesisConfig],
    validator_keys: list[ValidatorSecrets],
    validators: list[JamValidator],
) -> None:
    """Every validator deals in epoch 0 (work items for the finality service); the first
    block of epoch 1 closes the round: new public shares, the same group key, and each
    validator derives its own new share from the state alone. Epoch 2 reshares again."""
    config = devnet[1]
    spec = validators[0].spec
    genesis_keys = config.epoch_keys()
    finality = [
        JamFinality(
            v.store,
            ServiceRound(
                bytes.fromhex(config.chain_id),
                genesis_keys,
                spec.epoch_length,
                config.validator_keys(),
                FINALITY,
                v.head_state,
            ),
            v.index,
            validator_keys[v.index].signing_key,
            validator_keys[v.index].key_share,
        )
        for v in validators
    ]
    bus = Bus(validators)
    records = []
    for slot in range(1, 3 * spec.epoch_length + 1):
        for validator, own in zip(validators, finality, strict=True):
            for payload in own.duties(slot):
                bus.send(validator.index, validator.submit_work(FINALITY, payload))
        bus.run()
        bus.slot(slot)
        if slot % spec.epoch_length == 0:
            records.append(finality[0].record())
    assert_converged(validators)
    assert not any(v.refused for v in validators)
    epoch_1, epoch_2 = records[0], records[1]  # at slots E and 2E: the first of epochs 1, 2
    for record, epoch in ((epoch_1, 1), (epoch_2, 2)):
        assert record.epoch == epoch
        assert record.keys != record.previous  # reshared, not carried over
        assert len(record.basis) >= genesis_keys.threshold
        assert record.keys.group_key == genesis_keys.group_key
    assert epoch_1.keys != epoch_2.keys
    # Each validator's derived share of the keys in force matches its public share.
    for own in finality:
        share = own.share_for(epoch_2.keys)
        assert share is not None
        assert base_mul(share.secret) == epoch_2.keys.public_shares[own.resharer.index]
