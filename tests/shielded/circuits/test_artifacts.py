"""Loading the spend circuit's verifying key: one read, hashed and parsed from the same bytes,
and a clear error naming the file for a truncated key or a key for another circuit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import groth16py
import pytest

from shielded.circuits.artifacts import (
    MANIFEST_FILE,
    PUBLIC_INPUTS,
    VERIFYING_KEY_FILE,
    default_directory,
    key_hash,
    load_verifying,
)
from shielded.circuits.errors import CircuitError
from shielded.circuits.spend import SpendStatement
from shielded.notes.note import Tier
from tests.shielded.circuits.spend_keys import spend_keys


def copy_keys(target: Path) -> Path:
    """The verifying key and manifest of the cached setup, copied to `target`."""
    spend_keys()
    for name in (MANIFEST_FILE, VERIFYING_KEY_FILE):
        shutil.copy(default_directory() / name, target / name)
    return target / VERIFYING_KEY_FILE


def save_snarkjs(document: dict[str, object], path: Path) -> None:
    """Write the key of a snarkjs `verification_key.json` document to `path` (arkworks)."""
    groth16py.VerifyingKey.from_snarkjs(json.dumps(document)).save(str(path))


def test_public_inputs_match_the_spend_statement() -> None:
    statement = SpendStatement(
        0, 0, 0, (0, 0), (Tier.EPHEMERAL,) * 2, (0, 0), (Tier.EPHEMERAL,) * 2, 0, 0, 0, 0
    )
    assert len(statement.public_inputs()) == PUBLIC_INPUTS
    assert spend_keys().verifying.verifying_key.n_public == PUBLIC_INPUTS


def test_the_key_is_parsed_from_the_bytes_that_were_hashed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = copy_keys(tmp_path)
    expected = key_hash(key_file.read_bytes())
    loaded_from: list[bytes] = []
    original = groth16py.VerifyingKey.load

    def load(path: str) -> groth16py.VerifyingKey:
        # The file the parser reads is a private copy, not the directory's file...
        assert Path(path) != key_file
        loaded_from.append(Path(path).read_bytes())
        # ... so a swap of the directory's file after the hash cannot reach the parser.
        key_file.write_bytes(b"swapped")
        return original(path)

    monkeypatch.setattr(groth16py.VerifyingKey, "load", staticmethod(load))
    loaded = load_verifying(tmp_path, expected)
    assert loaded.vk_hash == expected == key_hash(loaded_from[0])
    assert loaded.verifying_key.n_public == PUBLIC_INPUTS


def test_invalid_truncated_key_is_named(tmp_path: Path) -> None:
    key_file = copy_keys(tmp_path)
    key_file.write_bytes(key_file.read_bytes()[:-7])
    with pytest.raises(CircuitError, match=f"{key_file}.*truncated or corrupt"):
        load_verifying(tmp_path)


def test_invalid_key_for_another_circuit_is_named(tmp_path: Path) -> None:
    key_file = copy_keys(tmp_path)
    document = json.loads(spend_keys().verifying.verifying_key.to_json())
    document["IC"] = document["IC"][:3]
    document["nPublic"] = 2
    save_snarkjs(document, key_file)
    with pytest.raises(CircuitError, match=f"{key_file} is for another circuit: 2 public"):
        load_verifying(tmp_path)


def test_invalid_other_key_of_the_same_shape_fails_the_hash(tmp_path: Path) -> None:
    key_file = copy_keys(tmp_path)
    document = json.loads(spend_keys().verifying.verifying_key.to_json())
    document["vk_gamma_2"], document["vk_delta_2"] = document["vk_delta_2"], document["vk_gamma_2"]
    save_snarkjs(document, key_file)
    with pytest.raises(CircuitError, match=f"{key_file} has hash .*, manifest says"):
        load_verifying(tmp_path)
