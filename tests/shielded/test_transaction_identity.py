"""A transaction's identity: bound to its chain (the genesis chain id is in the tx_id body),
and independent of its proof's bytes (Groth16 proofs are malleable: negating A and B gives
another proof of the same statement), so pools refuse other chains' transactions by name and
mempools, outcomes and refined entries see one transaction however its proof is re-encoded.
"""

from __future__ import annotations

import dataclasses
import functools

from nacl.signing import SigningKey

from shielded.circuits.spend import SpendVerifier
from shielded.native_pool_refine import strip_transaction
from shielded.node.jam_guarantee_flow import Mempool
from shielded.notes.keys import SpendingKey
from shielded.service import PoolConfig, PoolState, ShieldedPool, refine
from shielded.spec import PoolSpec
from shielded.transaction import (
    Payment,
    Transaction,
    TransactionPlan,
    build_transaction,
    spend_statement,
)
from tests.shielded.circuits.spend_keys import spend_keys

BASE_FIELD = 0x30644E72E131A029B85045B68181585D97816A916871CA8D3C208C16D87CFD47
"""p of BN254's base field: the coordinates of proof points."""
CHAIN_A = b"chain A".ljust(32, b"\0")
CHAIN_B = b"chain B".ljust(32, b"\0")
SPEC = PoolSpec(note_lifetime_epochs=2)
DEPOSITOR = SigningKey(b"depositor".ljust(32, b"\0"))
RECIPIENT = SpendingKey.from_seed(b"identity recipient".ljust(32, b"\0"))


def pool(chain_id: bytes) -> ShieldedPool:
    """An empty pool of chain `chain_id` funding DEPOSITOR: every such pool has the same
    genesis anchor, as devnets made on one machine do."""
    config = PoolConfig(spec=SPEC, chain_id=chain_id)
    state = PoolState.genesis(config, {bytes(DEPOSITOR.verify_key): 10_000})
    return ShieldedPool(state, SpendVerifier(spend_keys().verifying))


@functools.cache
def deposit() -> Transaction:
    """A proven deposit of 1000 for CHAIN_A at the (shared) genesis anchor."""
    state = pool(CHAIN_A).state
    plan = TransactionPlan(
        anchor=state.trees.anchor,
        epoch=0,
        lifetime=state.config.lifetime,
        change_key=RECIPIENT,
        chain_id=CHAIN_A,
        payments=(Payment(RECIPIENT.address, 1_000),),
        deposit_from=DEPOSITOR,
        deposit_amount=1_000,
    )
    return build_transaction(spend_keys(), plan)


def negate_a_and_b(proof: bytes) -> bytes:
    """The proof (-A, -B, C): e(-A, -B) = e(A, B), so it verifies the same statement.
    Ethereum layout: A = x || y (G1), B = x1 || x0 || y1 || y0 (G2), C (G1), 32 octets each;
    negating a point negates its y coordinate(s) mod p."""
    words = [int.from_bytes(proof[i : i + 32], "big") for i in range(0, len(proof), 32)]
    for index in (1, 4, 5):  # A.y, B.y1, B.y0
        words[index] = (BASE_FIELD - words[index]) % BASE_FIELD
    return b"".join(word.to_bytes(32, "big") for word in words)


def test_invalid_transaction_for_another_chain_is_refused_by_name() -> None:
    transaction = deposit()
    other = pool(CHAIN_B)
    before = other.state.digest()
    assert other.state.trees.anchor == transaction.anchor  # the replay the chain id stops
    outcome = other.apply_block([transaction])
    assert not outcome.accepted
    assert outcome.rejected[0][1] == (
        f"transaction is for chain 0x{CHAIN_A.hex()}, this is 0x{CHAIN_B.hex()}"
    )
    assert other.state.digest() == before
    # Relabelling it for chain B changes its tx_id: the signature and the proof fail.
    relabelled = dataclasses.replace(transaction, chain_id=CHAIN_B)
    assert relabelled.tx_id != transaction.tx_id
    assert "deposit signature" in other.apply_block([relabelled]).rejected[0][1]
    # Its own chain takes it.
    assert len(pool(CHAIN_A).apply_block([transaction]).accepted) == 1


def test_a_re_randomised_proof_is_the_same_transaction() -> None:
    transaction = deposit()
    malleated = dataclasses.replace(transaction, proof=negate_a_and_b(transaction.proof))
    config = pool(CHAIN_A).state.config
    statement = spend_statement(malleated, config.lifetime, config.collateral_per_note)
    # Other bytes, still a valid proof of the same statement...
    assert malleated.proof != transaction.proof
    assert malleated.encode() != transaction.encode()
    assert SpendVerifier(spend_keys().verifying).verify(statement, malleated.proof)
    # ... and the same transaction: one tx_id, one mempool entry, one refined entry.
    assert malleated.tx_id == transaction.tx_id
    mempool = Mempool()
    ids = {mempool.add(transaction.encode()), mempool.add(malleated.encode())}
    assert ids == {transaction.tx_id} and len(mempool) == 1
    assert strip_transaction(malleated) == strip_transaction(transaction)
    target = pool(CHAIN_A)
    assert refine(malleated, target.context()).tx_id == transaction.tx_id
    # Both copies in one block: one is applied, the other is a replay of it.
    outcome = target.apply_block([malleated, transaction])
    assert outcome.accepted == (transaction.tx_id,)
    assert len(outcome.rejected) == 1
