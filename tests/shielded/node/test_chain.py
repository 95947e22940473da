"""The chain: authoring and importing real Safrole blocks, invalid blocks, forks, finality."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from jamcore.block import Block, block_codecs, header_hash
from jamcore.safrole.authoring import produce_tickets, select_tickets
from jamcore.safrole.state import FallbackSeries, TicketSeries
from jamcore.state.merklization import state_root
from shielded.node.chain import Chain, InvalidBlock
from shielded.node.genesis import (
    GenesisConfig,
    ValidatorSecrets,
)
from shielded.node.storage import ChainStore


def new_chain(devnet: tuple[Path, GenesisConfig], tmp_path: Path, name: str) -> Chain:
    return Chain(devnet[1], ChainStore(tmp_path / f"{name}.sqlite"))


def author_next(chain: Chain, keys: list[ValidatorSecrets], slot: int, **kwargs: object) -> bytes:
    for validator in keys:
        block = chain.author_block(slot, validator, **kwargs)  # type: ignore[arg-type]
        if block is not None:
            return block
    raise AssertionError(f"nobody may author slot {slot}")


def test_blocks_import_on_another_node_across_an_epoch(
    devnet: tuple[Path, GenesisConfig], tmp_path: Path, validator_keys: list[ValidatorSecrets]
) -> None:
    author, follower = new_chain(devnet, tmp_path, "a"), new_chain(devnet, tmp_path, "b")
    for slot in range(1, 15):  # crosses the epoch boundary at slot 12
        block = author_next(author, validator_keys, slot)
        assert author.import_block(block).status == "imported"
        assert follower.import_block(block).status == "imported"
    assert follower.head.hash == author.head.hash
    assert follower.head_state_root() == author.head_state_root()
    decoded = block_codecs(follower.spec).block.decode(follower.head.block)
    assert decoded.header.slot == 14
    epoch_block = block_codecs(follower.spec).block.decode(
        follower.store.canonical_range(12, 1)[0].block
    )
    assert epoch_block.header.epoch_mark is not None


@pytest.mark.slow
def test_ticket_mode_after_a_full_contest(
    devnet: tuple[Path, GenesisConfig], tmp_path: Path, validator_keys: list[ValidatorSecrets]
) -> None:
    chain = new_chain(devnet, tmp_path, "tickets")
    follower = new_chain(devnet, tmp_path, "tickets-follower")
    spec = chain.spec
    produced = []
    for slot in range(1, 24):  # tickets in epoch 0 seal epoch 1 (slots 12..23)
        state = chain.state().safrole
        if slot == 1:
            for validator in validator_keys[:4]:  # 4 x N=3 tickets fill E=12 slots exactly
                produced += produce_tickets(state, slot, validator.bandersnatch_secret, spec)
        envelopes: tuple = ()
        if slot % spec.epoch_length < spec.contest_duration and slot < spec.epoch_length:
            envelopes = select_tickets(produced, state.ticket_accumulator, spec)
        block = author_next(chain, validator_keys, slot, tickets=envelopes)
        assert chain.import_block(block).status == "imported"
        assert follower.import_block(block).status == "imported"
    assert isinstance(chain.state().safrole.sealing_keys, TicketSeries)
    assert follower.head.hash == chain.head.hash
    ticketed = block_codecs(spec).block.decode(chain.store.canonical_range(10, 1)[0].block)
    assert ticketed.header.tickets_mark is not None


def test_invalid_blocks_change_nothing(
    devnet: tuple[Path, GenesisConfig], tmp_path: Path, validator_keys: list[ValidatorSecrets]
) -> None:
    chain = new_chain(devnet, tmp_path, "invalid")
    codec = block_codecs(chain.spec).block
    good: Block = codec.decode(author_next(chain, validator_keys, 1))
    head_before = chain.head.hash

    def tampered(**changes: object) -> bytes:
        return codec.encode(replace(good, header=replace(good.header, **changes)))

    cases = {
        "seal": tampered(seal=bytes(96)),
        "state root": tampered(parent_state_root=bytes(32)),
        "extrinsic hash": tampered(extrinsic_hash=bytes(32)),
        "author": tampered(author_index=(good.header.author_index + 1) % 6),
        "future slot": tampered(slot=10**9),
    }
    for name, encoded in cases.items():
        with pytest.raises(InvalidBlock):
            chain.import_block(encoded)
        assert chain.head.hash == head_before, name
    with pytest.raises(InvalidBlock, match="undecodable"):
        chain.import_block(codec.encode(good)[:-3])
    assert chain.import_block(codec.encode(good)).status == "imported"


def test_longest_chain_wins_and_final_blocks_stay(
    devnet: tuple[Path, GenesisConfig], tmp_path: Path, validator_keys: list[ValidatorSecrets]
) -> None:
    main = new_chain(devnet, tmp_path, "main")
    side = new_chain(devnet, tmp_path, "side")
    first = author_next(main, validator_keys, 1)
    main.import_block(first)
    side.import_block(first)
    for slot in (2, 3):
        main.import_block(author_next(main, validator_keys, slot))
    old_head = main.head.hash
    side_blocks = []
    for slot in (4, 5, 6):
        block = author_next(side, validator_keys, slot)
        side.import_block(block)
        side_blocks.append(block)
    outcomes = [main.import_block(block).status for block in side_blocks]
    assert outcomes == ["fork", "fork", "reorg"]
    assert main.head.hash == side.head.hash
    assert not main.store.is_canonical(old_head)
    assert main.head_state_root() == side.head_state_root()
    # The incremental trie followed the rollback and the new branch exactly.
    assert main.head_state_root() == state_root(dict(main.store.items()))

    # Once a block is final, a longer branch that does not contain it is refused.
    main.store.finalize(main.head.hash)
    other = new_chain(devnet, tmp_path, "other")
    other.import_block(first)
    for slot in range(7, 12):
        other.import_block(author_next(other, validator_keys, slot))
    statuses = {main.import_block(b.block).status for b in other.store.canonical_range(2, 10)}
    assert statuses <= {"fork", "known"}
    assert main.head.hash == side.head.hash


def test_genesis_is_fallback_sealed(devnet: tuple[Path, GenesisConfig], tmp_path: Path) -> None:
    chain = new_chain(devnet, tmp_path, "genesis")
    assert isinstance(chain.state().safrole.sealing_keys, FallbackSeries)
    assert chain.head.hash == header_hash(
        block_codecs(chain.spec).block.decode(chain.head.block).header, chain.spec
    )
