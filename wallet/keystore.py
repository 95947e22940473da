"""Wallet files: the BIP-39 mnemonic and account list, encrypted at rest with a passphrase,
and the chain the wallet is pinned to.

Format (JSON, version 2): the secret payload (mnemonic, accounts) is serialized to JSON and
sealed with XSalsa20-Poly1305 (`nacl.secret.SecretBox`) under a key derived from the
passphrase with Argon2id (`nacl.pwhash.argon2id`, moderate limits, random 16-byte salt).
Only public metadata (format version, KDF parameters, salt, nonce, account names, and the
chain pins) is in clear. `chain` holds the pins (`wallet.pins.ChainPins`: genesis chain id
and verifying-key hash) or is absent until the wallet is pinned. The pins are public values
(anyone can read them from the genesis), so they sit beside the ciphertext: a wallet can be
pinned on first contact without asking for the passphrase. Version 1 files (no `chain`)
still open; the first pin written upgrades them to version 2. Files are replaced atomically
(write to a temporary file, fsync, rename), so a crash never leaves a half-written wallet.
Secrets are never logged or shown in errors.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils

from wallet.pins import ChainPins, PinError

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
KDF_NAME = "argon2id"
MAX_ACCOUNTS = 1024


class WalletFileError(Exception):
    """A wallet file that is missing, malformed, or cannot be opened with the passphrase."""


@dataclass(frozen=True)
class Account:
    """One account of a wallet: an index into the key derivation and a label."""

    index: int
    name: str


@dataclass
class WalletSecrets:
    """What the wallet file protects: the mnemonic and the accounts derived from it."""

    mnemonic: str
    accounts: list[Account] = field(default_factory=lambda: [Account(0, "default")])

    def add_account(self, name: str) -> Account:
        """A new account at the next unused index."""
        if len(self.accounts) >= MAX_ACCOUNTS:
            raise WalletFileError(f"a wallet holds at most {MAX_ACCOUNTS} accounts")
        if any(account.name == name for account in self.accounts):
            raise WalletFileError(f"an account named {name!r} already exists")
        account = Account(max((a.index for a in self.accounts), default=-1) + 1, name)
        self.accounts.append(account)
        return account

    def account(self, name_or_index: str | int) -> Account:
        for account in self.accounts:
            if account.name == name_or_index or account.index == name_or_index:
                return account
        raise WalletFileError(f"no account {name_or_index!r} in this wallet")


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost parameters stored with the file, so later releases can raise them."""

    opslimit: int = nacl.pwhash.argon2id.OPSLIMIT_MODERATE
    memlimit: int = nacl.pwhash.argon2id.MEMLIMIT_MODERATE


FAST_KDF = KdfParams(
    nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_MIN
)
"""Minimal cost, for tests and throwaway devnet demos only."""


def _derive_key(passphrase: str, salt: bytes, params: KdfParams) -> bytes:
    return nacl.pwhash.argon2id.kdf(
        nacl.secret.SecretBox.KEY_SIZE,
        passphrase.encode(),
        salt,
        opslimit=params.opslimit,
        memlimit=params.memlimit,
    )


def save(
    path: Path | str,
    secrets: WalletSecrets,
    passphrase: str,
    params: KdfParams = KdfParams(),
    pins: ChainPins | None = None,
) -> None:
    """Encrypt `secrets` under `passphrase` and atomically write the wallet file with
    `pins`; pins=None keeps the pins the file at `path` already holds (a re-save never
    unpins a wallet)."""
    if not passphrase:
        raise WalletFileError("a passphrase is required to encrypt the wallet")
    salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
    box = nacl.secret.SecretBox(_derive_key(passphrase, salt, params))
    payload = json.dumps(
        {
            "mnemonic": secrets.mnemonic,
            "accounts": [{"index": a.index, "name": a.name} for a in secrets.accounts],
        }
    ).encode()
    sealed = box.encrypt(payload)
    if pins is None and Path(path).exists():
        pins = read_pins(path)
    document: dict[str, Any] = {
        "format": "jam-shielded-wallet",
        "version": FORMAT_VERSION,
        "kdf": {
            "name": KDF_NAME,
            "opslimit": params.opslimit,
            "memlimit": params.memlimit,
            "salt": _b64(salt),
        },
        "ciphertext": _b64(bytes(sealed)),
        "accounts": [a.name for a in secrets.accounts],
    }
    if pins is not None:
        document["chain"] = pins.to_json()
    _atomic_write(Path(path), json.dumps(document, indent=2).encode())


def read_pins(path: Path | str) -> ChainPins | None:
    """The chain pins of the wallet file at `path` (public metadata), None if it is not
    pinned yet; WalletFileError if the file or its pins are malformed."""
    document = _document(Path(path))
    if "chain" not in document:
        return None
    try:
        return ChainPins.from_json(document["chain"])
    except PinError as error:
        raise WalletFileError(f"{path}: malformed chain pins: {error}") from error


def write_pins(path: Path | str, pins: ChainPins) -> None:
    """Pin the wallet file at `path` (atomically rewritten as version 2, the sealed
    payload unchanged); WalletFileError if it is already pinned to other values."""
    path = Path(path)
    document = _document(path)
    current = read_pins(path)
    if current is not None and current != pins:
        raise WalletFileError(f"{path} is already pinned to other values; refusing to re-pin")
    document["chain"] = pins.to_json()
    document["version"] = FORMAT_VERSION
    _atomic_write(path, json.dumps(document, indent=2).encode())


def _document(path: Path) -> dict[str, Any]:
    """The wallet file's JSON document (format and version checked, nothing decrypted)."""
    try:
        document = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise WalletFileError(f"no wallet file at {path}") from None
    except (OSError, ValueError) as error:
        raise WalletFileError(f"{path} is not a readable wallet file") from error
    if (
        not isinstance(document, dict)
        or document.get("format") != "jam-shielded-wallet"
        or document.get("version") not in READABLE_VERSIONS
    ):
        raise WalletFileError(f"{path}: unsupported wallet format or version")
    return document


def load(path: Path | str, passphrase: str) -> WalletSecrets:
    """Read and decrypt a wallet file; WalletFileError on any problem (never a traceback)."""
    path = Path(path)
    document = _document(path)
    kdf = _field(document, "kdf", dict)
    if kdf.get("name") != KDF_NAME:
        raise WalletFileError(f"{path}: unsupported key derivation {kdf.get('name')!r}")
    params = KdfParams(_field(kdf, "opslimit", int), _field(kdf, "memlimit", int))
    salt = _unb64(_field(kdf, "salt", str), "salt")
    if len(salt) != nacl.pwhash.argon2id.SALTBYTES:
        raise WalletFileError(f"{path}: salt has the wrong length")
    ciphertext = _unb64(_field(document, "ciphertext", str), "ciphertext")
    try:
        key = _derive_key(passphrase, salt, params)
        payload = nacl.secret.SecretBox(key).decrypt(ciphertext)
    except nacl.exceptions.CryptoError:
        raise WalletFileError("wrong passphrase, or the wallet file was modified") from None
    except (ValueError, TypeError) as error:
        raise WalletFileError(f"{path}: invalid key-derivation parameters") from error
    try:
        data = json.loads(payload)
        accounts = [Account(int(a["index"]), str(a["name"])) for a in data["accounts"]]
        return WalletSecrets(str(data["mnemonic"]), accounts)
    except (ValueError, KeyError, TypeError) as error:
        raise WalletFileError(f"{path}: decrypted payload is malformed") from error


def kdf_params(path: Path | str) -> KdfParams:
    """The key-derivation cost a wallet file was written with (public metadata), so a
    re-save keeps it."""
    try:
        kdf = _field(json.loads(Path(path).read_bytes()), "kdf", dict)
    except (OSError, ValueError) as error:
        raise WalletFileError(f"{path} is not a readable wallet file") from error
    return KdfParams(_field(kdf, "opslimit", int), _field(kdf, "memlimit", int))


def _field(document: Any, name: str, kind: type) -> Any:
    if not isinstance(document, dict) or not isinstance(document.get(name), kind):
        raise WalletFileError(f"wallet file field {name!r} is missing or not a {kind.__name__}")
    return document[name]


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as error:
        raise WalletFileError(f"wallet file field {what!r} is not base64") from error


def _atomic_write(path: Path, content: bytes) -> None:
    """Write `content` to `path` so readers see either the old or the new file, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
