"""Benchmarks of the shielded pool core: trees, nullifiers, trial decryption, state, Groth16.

Targets (issue 4): tree appends >= 5,000 commitments/s in batches, trial decryption
>= 20,000 outputs/s per core, a 2x2 proof <= 2 s and verification <= 3 ms. The setup figure
runs a fresh dev-only setup in a temporary directory (the cached keys are not touched).
`wallet.trial_decrypt_per_s` lives here because trial decryption is `shielded.notes` code;
run it with `python -m bench` (all figures) or `python -m bench shielded wallet`.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench import Figure, best_seconds, rate
from shielded.circuits.artifacts import setup_artifacts
from shielded.circuits.spend import SpendInput, SpendStatement, SpendVerifier, prove_spend
from shielded.notes.encryption import encrypt_note, trial_decrypt
from shielded.notes.keys import SpendingKey
from shielded.notes.note import Note, Tier
from shielded.notes.poseidon import FIELD_MODULUS
from shielded.notes.tree import SUBTREE_DEPTH, CommitmentTrees, MerkleTree
from shielded.nullifiers.nullifier_set import NullifierSet, RevealedNullifier
from shielded.service import PoolConfig, PoolState
from shielded.spec import PoolSpec

APPEND_BATCH = 1_000
LIFETIME = 4


def _random_fields(count: int) -> list[int]:
    return [secrets.randbelow(FIELD_MODULUS) for _ in range(count)]


def tree_append_per_s() -> float:
    """Commitments per second appended to an epoch subtree in batches of APPEND_BATCH."""
    batches = [_random_fields(APPEND_BATCH) for _ in range(4)]
    tree = MerkleTree(SUBTREE_DEPTH)
    start = time.perf_counter()
    for batch in batches:
        tree.append(batch)
    return len(batches) * APPEND_BATCH / (time.perf_counter() - start)


def nullifier_check_per_s() -> float:
    """Nullifier double-spend checks per second against a set of 100,000 entries."""
    nullifiers = NullifierSet(LIFETIME)
    nullifiers.insert(RevealedNullifier(nf, 0) for nf in _random_fields(100_000))
    fresh = _random_fields(10_000)
    return rate(lambda: nullifiers.check_unspent(fresh)) * len(fresh)


def trial_decrypt_per_s() -> float:
    """Foreign outputs per second a wallet trial-decrypts (one core)."""
    sender, wallet = SpendingKey.from_seed(b"s" * 32), SpendingKey.from_seed(b"w" * 32)
    outputs = []
    for _ in range(200):
        note = Note.create(1, sender.pk, 10)
        outputs.append((note.commitment, encrypt_note(note, sender.address)))
    outputs *= 50
    key = wallet.incoming_viewing_key
    return len(outputs) / best_seconds(lambda: trial_decrypt(key, outputs), repeats=3)


def state_bytes_per_live_note() -> float:
    """Consensus-state bytes per live note in steady state.

    Every epoch 2,000 transactions each spend 2 notes and create 2; after more than N
    epochs the live window, the permanent tree (empty here) and the nullifier set are
    steady, and their bytes are divided by the live notes.
    """
    config = PoolConfig(spec=PoolSpec(note_lifetime_epochs=LIFETIME), anchor_window=8)
    state = PoolState.genesis(config)
    for epoch in range(3 * LIFETIME):
        state.trees.begin_epoch(epoch)
        state.nullifiers.prune(epoch)
        state.trees.live.append(_random_fields(4_000))
        state.nullifiers.insert(RevealedNullifier(nf, epoch) for nf in _random_fields(4_000))
    return state.storage_bytes() / state.trees.live.leaf_count()


def _transfer(trees: CommitmentTrees) -> tuple[SpendStatement, tuple, tuple]:
    alice, bob = SpendingKey.from_seed(b"a" * 32), SpendingKey.from_seed(b"b" * 32)
    owned = Note.create(100, alice.pk, LIFETIME)
    position = trees.live.append([owned.commitment])[0]
    spend = SpendInput(owned, alice.ask, alice.nk, trees.witness(position, permanent=False))
    dummy = SpendInput.dummy(alice.ask, alice.nk, Note.dummy(alice.pk, 0))
    outputs = (Note.create(60, bob.pk, LIFETIME), Note.create(39, alice.pk, LIFETIME))
    statement = SpendStatement(
        anchor=trees.anchor,
        epoch=0,
        expiry_limit=LIFETIME,
        nullifiers=(spend.nullifier, dummy.nullifier),
        input_tiers=(Tier.EPHEMERAL, Tier.EPHEMERAL),
        output_commitments=(outputs[0].commitment, outputs[1].commitment),
        output_tiers=(Tier.EPHEMERAL, Tier.EPHEMERAL),
        public_in=0,
        public_out=0,
        fee=1,
        binding=12345,
    )
    return statement, (spend, dummy), outputs


def figures() -> Iterator[Figure]:
    yield Figure("shielded.tree_append_per_s", tree_append_per_s(), "commitments/s")
    yield Figure("shielded.nullifier_check_per_s", nullifier_check_per_s(), "checks/s")
    yield Figure("wallet.trial_decrypt_per_s", trial_decrypt_per_s(), "outputs/s")
    yield Figure("shielded.state_bytes_per_live_note", state_bytes_per_live_note(), "bytes")
    with tempfile.TemporaryDirectory() as directory:
        start = time.perf_counter()
        keys = setup_artifacts(Path(directory))
        yield Figure("shielded.setup_s", time.perf_counter() - start, "s")
    statement, inputs, outputs = _transfer(CommitmentTrees(LIFETIME, anchor_window=4))
    proof = prove_spend(keys, statement, inputs, outputs)
    yield Figure(
        "shielded.prove_2x2_s",
        best_seconds(lambda: prove_spend(keys, statement, inputs, outputs), repeats=2),
        "s",
    )
    verifier = SpendVerifier(keys.verifying)
    yield Figure(
        "shielded.verify_ms", 1000 / rate(lambda: verifier.verify(statement, proof)), "ms"
    )
