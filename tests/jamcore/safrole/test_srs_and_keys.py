"""The SRS (Zcash default, path override, fresh generation) and Bandersnatch key handling."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py_ecc.optimized_bls12_381 import G1, G2, multiply, normalize

from jamcore.crypto.bandersnatch import (
    BandersnatchError,
    Ring,
    ensure_public_key,
    ietf_sign,
    ietf_verify,
    is_valid_public_key,
    public_from_secret,
    secret_from_seed,
    vrf_output,
)
from jamcore.crypto.srs import (
    ZCASH_SRS_SHA256,
    SrsError,
    domain_log2_for_ring,
    generate_srs,
    load_srs,
    parse_srs,
    srs_for_ring,
    zcash_srs,
)
from tests.vectors import VECTORS

VECTORS_SRS = VECTORS / "stf" / "safrole" / "zcash-srs-2-11-uncompressed.bin"


def test_zcash_srs_loads_from_the_package_with_its_hash() -> None:
    srs = zcash_srs()
    assert srs.sha256 == ZCASH_SRS_SHA256
    assert srs.domain_size == 2048 and srs.max_ring_size == 1791


@pytest.mark.skipif(not VECTORS_SRS.exists(), reason="vectors' SRS not present")
def test_path_override_checks_the_hash(tmp_path: Path) -> None:
    assert load_srs(VECTORS_SRS, expected_sha256=ZCASH_SRS_SHA256).data == zcash_srs().data
    corrupted = bytearray(VECTORS_SRS.read_bytes())
    corrupted[1000] ^= 1
    path = tmp_path / "srs.bin"
    path.write_bytes(bytes(corrupted))
    with pytest.raises(SrsError, match="sha256"):
        load_srs(path, expected_sha256=ZCASH_SRS_SHA256)


def test_invalid_srs_layouts(tmp_path: Path) -> None:
    with pytest.raises(SrsError, match="too short"):
        parse_srs(b"\x00" * 8)
    with pytest.raises(SrsError, match="layout"):
        parse_srs(zcash_srs().data[:-1])
    with pytest.raises(SrsError, match="cannot read"):
        load_srs(tmp_path / "missing.bin")


def test_ring_sizes_and_domains() -> None:
    assert domain_log2_for_ring(6) == 9
    assert domain_log2_for_ring(1023) == 11
    assert domain_log2_for_ring(1791) == 11
    assert domain_log2_for_ring(1792) == 12
    with pytest.raises(SrsError, match="generate_srs"):
        srs_for_ring(1792)


def test_generated_srs_is_powers_of_tau_and_proves_rings() -> None:
    tau = 0x1234567890ABCDEF
    srs = generate_srs(9, tau=tau)
    assert srs.g1_count == 3 * 512 + 1 and srs.max_ring_size == 255

    def g1_bytes(point: tuple) -> bytes:
        x, y = normalize(point)
        return int(x).to_bytes(48, "big") + int(y).to_bytes(48, "big")

    assert srs.data[8 + 96 : 8 + 192] == g1_bytes(multiply(G1, tau))
    assert srs.data[8 + 2 * 96 : 8 + 3 * 96] == g1_bytes(multiply(G1, tau * tau))
    x, y = normalize(multiply(G2, tau))
    g2 = b"".join(int(c).to_bytes(48, "big") for c in (*x.coeffs[::-1], *y.coeffs[::-1]))
    assert srs.data[-192:] == g2
    # bandersnatch-vrfs accepts it: a ring proof over it verifies, and not over another SRS.
    secrets = [secret_from_seed(bytes([i]) * 32) for i in range(4)]
    ring = Ring.of([public_from_secret(s) for s in secrets], srs)
    proof = ring.prove(2, secrets[2], b"personhood", b"")
    assert ring.verify(b"personhood", b"", proof) == vrf_output(secrets[2], b"personhood")
    other = Ring.of(ring.keys, generate_srs(9))
    assert other.commitment != ring.commitment
    with pytest.raises(BandersnatchError):
        other.verify(b"personhood", b"", proof)


def test_fresh_srs_holds_rings_beyond_the_zcash_limit() -> None:
    srs = generate_srs(12)
    assert srs.max_ring_size == 4096 - 257
    secrets = [secret_from_seed(i.to_bytes(32, "little")) for i in range(1800)]
    ring = Ring.of([public_from_secret(s) for s in secrets], srs)
    proof = ring.prove(1799, secrets[1799], b"personhood", b"epoch 7")
    assert ring.verify(b"personhood", b"epoch 7", proof) == vrf_output(secrets[1799], b"personhood")


def test_random_srs_differs_each_time() -> None:
    first, second = generate_srs(9), generate_srs(9)
    assert hashlib.sha256(first.data).digest() != hashlib.sha256(second.data).digest()


@settings(max_examples=20, deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_generated_keys_are_valid_and_sign(seed: bytes) -> None:
    secret = secret_from_seed(seed)
    public = public_from_secret(secret)
    assert is_valid_public_key(public)
    negated = public[:31] + bytes([public[31] ^ 0x80])
    assert is_valid_public_key(negated)
    signature = ietf_sign(secret, b"input", b"message")
    assert ietf_verify(public, b"input", b"message", signature) == vrf_output(secret, b"input")
    with pytest.raises(BandersnatchError):
        ietf_verify(public, b"input", b"other message", signature)


def test_invalid_malformed_keys_are_rejected_before_the_bindings() -> None:
    for key in (bytes(32), b"\x01" * 32, b"\xff" * 32, b"\x00" * 31):
        assert not is_valid_public_key(key)
        with pytest.raises(BandersnatchError):
            ensure_public_key(key)
        with pytest.raises(BandersnatchError):
            ietf_verify(key, b"input", b"", bytes(96))
    with pytest.raises(BandersnatchError, match="32 bytes"):
        Ring.of([b"\x01" * 31])
    with pytest.raises(BandersnatchError, match="32 bytes"):
        secret_from_seed(b"short")
