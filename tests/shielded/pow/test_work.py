"""The spam-proof work function, difficulty targets and proof encoding (design section 3)."""

from __future__ import annotations

import pytest
from blake3 import blake3
from hypothesis import given
from hypothesis import strategies as st

from shielded.pow import MalformedProof, SpamProof, check_work, leading_zero_bits, work_hash
from shielded.pow.errors import InsufficientWork
from shielded.pow.work import ENCODED_BYTES, target_for
from tests.shielded.pow.helpers import block_hash, failing_proof, proof_with_bits, tx_id

hashes = st.binary(min_size=32, max_size=32)
nonces = st.integers(min_value=0, max_value=2**64 - 1)


@given(hashes, hashes, nonces)
def test_work_is_blake3_of_domain_anchor_tx_and_big_endian_nonce(anchor, tx, nonce):
    expected = blake3(b"jam-shielded/pow/v1" + anchor + tx + nonce.to_bytes(8, "big")).digest()
    assert work_hash(anchor, tx, nonce) == expected


def test_leading_zero_bits_counts_from_the_most_significant_bit():
    assert leading_zero_bits(bytes(32)) == 256
    assert leading_zero_bits(b"\x80" + bytes(31)) == 0
    assert leading_zero_bits(b"\x00\x01" + bytes(30)) == 15
    assert leading_zero_bits(b"\x00\x00\x10" + bytes(29)) == 19


@given(st.integers(min_value=1, max_value=64), hashes)
def test_target_comparison_agrees_with_leading_zero_count(bits, digest):
    assert (digest < target_for(bits)) == (leading_zero_bits(digest) >= bits)


def test_check_work_accepts_enough_and_rejects_too_little():
    anchor, tx = block_hash(1), tx_id(1)
    good = proof_with_bits(anchor, tx, tier=1, bits=5)
    assert check_work(good, 5) == good.work()
    assert check_work(good, 4) == good.work()
    with pytest.raises(InsufficientWork, match="needs 6"):
        check_work(good, 6)
    with pytest.raises(InsufficientWork):
        check_work(failing_proof(anchor, tx, tier=1, bits=3), 3)


@given(hashes, hashes, nonces, st.integers(min_value=1, max_value=255))
def test_encoding_round_trips(anchor, tx, nonce, tier):
    proof = SpamProof(anchor=anchor, tx_id=tx, nonce=nonce, tier=tier)
    encoded = proof.encode()
    assert len(encoded) == ENCODED_BYTES
    assert encoded[64:72] == nonce.to_bytes(8, "big")
    assert SpamProof.decode(encoded) == proof


@pytest.mark.parametrize(
    "fields",
    [
        {"anchor": bytes(31)},
        {"tx_id": "not bytes"},
        {"nonce": -1},
        {"nonce": 2**64},
        {"tier": 0},
        {"tier": 256},
    ],
)
def test_invalid_proof_fields_are_rejected(fields):
    base = {"anchor": bytes(32), "tx_id": bytes(32), "nonce": 0, "tier": 1}
    with pytest.raises(MalformedProof):
        SpamProof(**{**base, **fields})


def test_invalid_encoding_length_is_rejected():
    with pytest.raises(MalformedProof, match="expected 73"):
        SpamProof.decode(bytes(72))


def test_invalid_difficulty_is_rejected():
    with pytest.raises(MalformedProof):
        target_for(0)
