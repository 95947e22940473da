"""Key hierarchy from BIP-39 mnemonics and bech32m addresses."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shielded.notes.address import ShieldedAddress, bech32m_decode, bech32m_encode
from shielded.notes.errors import NotesError
from shielded.notes.keys import SpendingKey, _bip39, generate_mnemonic
from shielded.notes.poseidon import poseidon

# BIP-39 test vector (trezor vectors.json, entropy 00..00, passphrase "TREZOR").
ABANDON = "abandon " * 11 + "about"
ABANDON_SEED = bytes.fromhex(
    "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c9"
    "2f2cf141630c7a3c4ab7c81b2f001698e7463b04"
)


def test_mnemonic_derivation_follows_bip39_and_the_design_hierarchy() -> None:
    pytest.importorskip("mnemonic")  # until pyproject lists it (see shielded.notes.keys)
    assert SpendingKey.from_mnemonic(ABANDON, "TREZOR") == SpendingKey.from_seed(ABANDON_SEED)


def test_key_hierarchy_follows_the_design() -> None:
    key = SpendingKey.from_seed(ABANDON_SEED)
    assert key.ak == poseidon(key.ask)
    assert key.pk == poseidon(key.ak, key.nk)
    fvk = key.full_viewing_key
    assert (fvk.ak, fvk.nk, fvk.ivk) == (key.ak, key.nk, key.ivk)
    assert not hasattr(fvk, "ask")
    assert key.incoming_viewing_key.pk == key.pk
    assert key.address.transmission_key == key.incoming_viewing_key.transmission_key


def test_distinct_mnemonics_and_passphrases_give_distinct_keys() -> None:
    pytest.importorskip("mnemonic")
    words = generate_mnemonic()
    assert len(words.split()) == 24
    one, two = SpendingKey.from_mnemonic(words), SpendingKey.from_mnemonic(words, "x")
    assert one.pk != two.pk and one.ivk != two.ivk
    assert SpendingKey.from_mnemonic("  " + words.replace(" ", "   ") + " ") == one


def test_bad_mnemonic_is_rejected() -> None:
    pytest.importorskip("mnemonic")
    with pytest.raises(NotesError, match="BIP-39"):
        SpendingKey.from_mnemonic("abandon " * 12)


def test_short_seed_and_missing_bip39_package_are_typed_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(NotesError, match="seed"):
        SpendingKey.from_seed(b"short")
    monkeypatch.setitem(sys.modules, "mnemonic", None)
    _bip39.cache_clear()
    try:
        with pytest.raises(NotesError, match="pip install mnemonic"):
            SpendingKey.from_mnemonic(ABANDON)
    finally:
        _bip39.cache_clear()


def test_bip350_checksum_known_vectors() -> None:
    # Valid bech32m strings from BIP-350.
    for text in ("a1lqfn3a", "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx", "?1v759aa"):
        hrp, _ = bech32m_decode(text)
        assert hrp == text[: text.rfind("1")]
    for text in ("a1lqfn3b", "A1LQFn3A", "1qzzfhee", "an84characterslonghumanreadablepartt"):
        with pytest.raises(NotesError):
            bech32m_decode(text)


def test_address_round_trip_and_typo_detection() -> None:
    address = SpendingKey.from_seed(ABANDON_SEED).address
    text = address.encode()
    assert text.startswith("jsh1")
    assert ShieldedAddress.decode(text) == address
    assert ShieldedAddress.decode(text.upper()) == address
    position = len(text) // 2
    typo = text[:position] + ("q" if text[position] != "q" else "p") + text[position + 1 :]
    with pytest.raises(NotesError, match="checksum"):
        ShieldedAddress.decode(typo)
    with pytest.raises(NotesError, match="network"):
        ShieldedAddress.decode(address.encode("jst"))
    with pytest.raises(NotesError, match="64"):
        ShieldedAddress.decode(bech32m_encode("jsh", b"\x00" * 63))
    with pytest.raises(NotesError, match="field element"):
        ShieldedAddress.decode(bech32m_encode("jsh", b"\xff" * 64))


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=0, max_size=100))
def test_bech32m_round_trips_any_payload(payload: bytes) -> None:
    assert bech32m_decode(bech32m_encode("jsh", payload)) == ("jsh", payload)
