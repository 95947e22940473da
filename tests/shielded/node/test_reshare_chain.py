"""The reshare round through real blocks: finality reports carry it, import checks it, the
first block of the next epoch switches the keys, and a bad message rejects the block."""

from __future__ import annotations

from pathlib import Path

import pytest
from nacl.signing import SigningKey

from shielded.finality.keys import threshold_for
from shielded.finality.transport import Signed, make_complaint, make_dealing
from shielded.node.assemble import AssembledChain, assemble_chain, author_slot
from shielded.node.chain import InvalidBlock
from shielded.node.finality_layer import FINALITY_ITEMS, FinalityItems
from shielded.node.genesis import (
    GenesisConfig,
    ValidatorSecrets,
)
from shielded.node.guarantees import FINALITY_SERVICE_ID
from shielded.node.key_record import derive_share, keys_fingerprint
from shielded.node.storage import ChainStore


def author(
    assembled: AssembledChain, keys: list[ValidatorSecrets], slot: int, reshare: list[Signed]
) -> bytes:
    """The block of `slot` by its Safrole author, carrying `reshare` in a finality report."""
    items = FinalityItems((), (), tuple(m.encode() for m in reshare))
    reports = {FINALITY_SERVICE_ID: FINALITY_ITEMS.encode(items)} if reshare else {}
    return author_slot(assembled.chain, keys, slot, reports)


def test_a_reshare_round_in_blocks_switches_the_keys_at_the_epoch_change(
    devnet: tuple[Path, GenesisConfig], tmp_path: Path, validator_keys: list[ValidatorSecrets]
) -> None:
    directory, config = devnet
    chain_id = bytes.fromhex(config.chain_id)
    ed25519 = config.validator_keys()
    made, follower = (
        assemble_chain(directory, config, ChainStore(tmp_path / f"{name}.sqlite"))
        for name in ("author", "follower")
    )
    now = config.genesis_time + 10_000

    def step(slot: int, reshare: list[Signed]) -> None:
        block = author(made, validator_keys, slot, reshare)
        assert made.chain.import_block(block, now=now).status == "imported"
        assert follower.chain.import_block(block, now=now).status == "imported"

    genesis = follower.finality.record(follower.chain.store)
    t = threshold_for(len(ed25519))
    dealings = [
        make_dealing(chain_id, 0, secrets.key_share, ed25519, t, secrets.signing_key)[0]
        for secrets in validator_keys
    ]
    step(1, dealings[:3])
    step(2, dealings[3:])

    # A block with a forged complaint (validator 1 "complains" with validator 2's key) is
    # refused by import with a clear error, and changes nothing.
    head = follower.chain.head.hash
    record = follower.finality.record(follower.chain.store)
    forged = make_complaint(chain_id, 0, 0, 1, validator_keys[2].signing_key)
    bad = author(made, validator_keys, 3, [forged])
    with pytest.raises(InvalidBlock, match="reshare message: complaint signature"):
        follower.chain.import_block(bad, now=now)
    assert follower.chain.head.hash == head
    assert follower.finality.record(follower.chain.store) == record
    assert len(record.dealings) == len(validator_keys)

    for slot in range(3, 14):  # the first block of epoch 1 (slot 12) closes the round
        step(slot, [])
    after = follower.finality.record(follower.chain.store)
    assert after.epoch == 1 and after.previous == genesis.keys
    assert after.keys.group_key == genesis.keys.group_key
    assert keys_fingerprint(after.keys) != keys_fingerprint(genesis.keys)
    assert made.finality.record(made.chain.store) == after
    assert follower.chain.head_state_root() == made.chain.head_state_root()
    shares = [derive_share(after, s.index, s.signing_key) for s in validator_keys]
    assert all(share is not None for share in shares)
    # A dealing of the old epoch is refused in the new one.
    late = author(made, validator_keys, 14, [dealings[0]])
    with pytest.raises(InvalidBlock, match="epoch 0, not 1"):
        follower.chain.import_block(late, now=now)


def test_a_stranger_cannot_deal(
    devnet: tuple[Path, GenesisConfig], tmp_path: Path, validator_keys: list[ValidatorSecrets]
) -> None:
    directory, config = devnet
    chain = assemble_chain(directory, config, ChainStore(tmp_path / "c.sqlite"))
    ed25519 = config.validator_keys()
    stranger = SigningKey(b"\x42" * 32)
    message, _ = make_dealing(
        bytes.fromhex(config.chain_id), 0, validator_keys[0].key_share, ed25519, 5, stranger
    )
    block = author(chain, validator_keys, 1, [message])
    follower = assemble_chain(directory, config, ChainStore(tmp_path / "d.sqlite"))
    with pytest.raises(InvalidBlock, match="dealing signature does not verify"):
        follower.chain.import_block(block, now=config.genesis_time + 10_000)
