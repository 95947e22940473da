"""Wallet files: encryption at rest, accounts, typed errors, atomic replacement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wallet.keystore import FAST_KDF, WalletFileError, WalletSecrets, load, save

MNEMONIC = "abandon " * 11 + "about"


def test_round_trip_with_accounts(tmp_path: Path) -> None:
    secrets = WalletSecrets(MNEMONIC)
    secrets.add_account("savings")
    path = tmp_path / "w.json"
    save(path, secrets, "correct horse", FAST_KDF)
    loaded = load(path, "correct horse")
    assert loaded.mnemonic == MNEMONIC
    assert [(a.index, a.name) for a in loaded.accounts] == [(0, "default"), (1, "savings")]
    assert loaded.account("savings").index == 1


def test_secrets_are_not_in_clear(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    save(path, WalletSecrets(MNEMONIC), "pw", FAST_KDF)
    raw = path.read_text()
    assert "abandon" not in raw
    assert path.stat().st_mode & 0o077 == 0


def test_invalid_wrong_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    save(path, WalletSecrets(MNEMONIC), "right", FAST_KDF)
    with pytest.raises(WalletFileError, match="wrong passphrase"):
        load(path, "wrong")


def test_invalid_tampered_ciphertext(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    save(path, WalletSecrets(MNEMONIC), "pw", FAST_KDF)
    document = json.loads(path.read_text())
    document["ciphertext"] = document["ciphertext"][:-8] + "AAAAAAA="
    path.write_text(json.dumps(document))
    with pytest.raises(WalletFileError):
        load(path, "pw")


@pytest.mark.parametrize(
    "content",
    [b"", b"not json", b"[]", b'{"format": "jam-shielded-wallet", "version": 1}', b"\xff\xfe"],
)
def test_invalid_malformed_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "w.json"
    path.write_bytes(content)
    with pytest.raises(WalletFileError):
        load(path, "pw")


def test_invalid_missing_file(tmp_path: Path) -> None:
    with pytest.raises(WalletFileError, match="no wallet file"):
        load(tmp_path / "absent.json", "pw")


def test_invalid_duplicate_account_name() -> None:
    with pytest.raises(WalletFileError, match="already exists"):
        WalletSecrets(MNEMONIC).add_account("default")


def test_failed_save_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "w.json"
    save(path, WalletSecrets(MNEMONIC), "pw", FAST_KDF)
    before = path.read_bytes()

    def fail(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("wallet.keystore.os.replace", fail)
    with pytest.raises(OSError):
        save(path, WalletSecrets("other words"), "pw", FAST_KDF)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["w.json"]


def test_kdf_parameters_are_read_back(tmp_path: Path) -> None:
    from wallet.keystore import kdf_params

    path = tmp_path / "w.json"
    save(path, WalletSecrets(MNEMONIC), "pw", FAST_KDF)
    assert kdf_params(path) == FAST_KDF
