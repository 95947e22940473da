"""The mempool across reorganisations, on real blocks: a transaction included only in a
block that leaves the canonical chain is offered again, not lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from shielded.node.assemble import AssembledChain, assemble_chain, author_slot
from shielded.node.genesis import GenesisConfig, ValidatorSecrets
from shielded.node.guarantees import POOL_SERVICE_ID
from shielded.node.mempool import Mempool
from shielded.node.pool_layer import POOL_BATCH
from shielded.node.storage import ChainStore
from shielded.transaction import Transaction


class Node:
    """An in-process chain and its mempool, following the head after every import."""

    def __init__(self, devnet: tuple[Path, GenesisConfig], path: Path) -> None:
        directory, config = devnet
        self.assembled: AssembledChain = assemble_chain(directory, config, ChainStore(path))
        chain, pool = self.assembled.chain, self.assembled.pool
        self.mempool = Mempool(
            chain.store, chain.head, lambda stored: pool.transactions(chain.decode(stored.block))
        )

    def author(self, keys: list[ValidatorSecrets], slot: int, batch: list[bytes]) -> bytes:
        reports = {POOL_SERVICE_ID: POOL_BATCH.encode(tuple(batch))} if batch else None
        block = author_slot(self.assembled.chain, keys, slot, reports)
        self.receive(block)
        return block

    def receive(self, block: bytes) -> str:
        status = self.assembled.chain.import_block(block).status
        self.mempool.follow(self.assembled.chain.head)
        return status

    def status(self, tx: Transaction) -> dict[str, object]:
        return self.mempool.status.get(tx.tx_id, {})


@pytest.mark.slow
def test_transaction_of_a_retracted_block_is_offered_again(
    devnet: tuple[Path, GenesisConfig],
    deposits: list[Transaction],
    tmp_path: Path,
    validator_keys: list[ValidatorSecrets],
) -> None:
    node, loser, winner = (Node(devnet, tmp_path / f"{n}.sqlite") for n in "abc")
    raw = deposits[0].encode()
    node.mempool.add(deposits[0].tx_id, raw)
    short = loser.author(validator_keys, 1, [raw])
    assert node.receive(short) == "imported"
    assert node.status(deposits[0])["status"] == "included"
    assert deposits[0].tx_id not in node.mempool
    # A longer branch without the transaction wins: it is pending again, not lost.
    for slot in (2, 3):
        node.receive(winner.author(validator_keys, slot, []))
    assert node.assembled.chain.head.hash == winner.assembled.chain.head.hash
    assert node.status(deposits[0]) == {"status": "pending"}
    assert node.mempool.candidates() == [raw]
    # The next author on the winning branch carries it.
    chosen, failed = node.assembled.pool.select(node.assembled.chain.store, 4, [raw])
    assert chosen == [raw] and not failed
    node.author(validator_keys, 4, chosen)
    assert node.status(deposits[0]) == {
        "status": "included",
        "height": 3,
        "block": node.assembled.chain.head.hash.hex(),
    }
    assert len(node.mempool) == 0


@pytest.mark.slow
def test_transaction_on_both_branches_stays_included_at_the_winner(
    devnet: tuple[Path, GenesisConfig],
    deposits: list[Transaction],
    tmp_path: Path,
    validator_keys: list[ValidatorSecrets],
) -> None:
    node, loser, winner = (Node(devnet, tmp_path / f"{n}.sqlite") for n in "abc")
    both, only_loser = (tx.encode() for tx in deposits)
    for tx in deposits:
        node.mempool.add(tx.tx_id, tx.encode())
    node.receive(loser.author(validator_keys, 1, [both, only_loser]))
    winning = winner.author(validator_keys, 2, [both])
    node.receive(winning)
    node.receive(winner.author(validator_keys, 3, []))
    winning_hash = winner.assembled.chain.store.canonical_hash(1)
    assert winning_hash is not None
    assert node.status(deposits[0]) == {
        "status": "included",
        "height": 1,
        "block": winning_hash.hex(),
    }
    assert node.status(deposits[1]) == {"status": "pending"}
    assert node.mempool.candidates() == [only_loser]
    # Going back to the first branch (it grew longer) includes both there again.
    for slot in (4, 5, 6):
        node.receive(loser.author(validator_keys, slot, []))
    first = loser.assembled.chain.store.canonical_hash(1)
    assert first is not None and first != winning_hash
    for tx in deposits:
        assert node.status(tx) == {"status": "included", "height": 1, "block": first.hex()}
    assert len(node.mempool) == 0
