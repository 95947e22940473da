"""Devnet genesis: validator keys, the genesis Safrole state and block, written to a directory.

`create_devnet(directory, validators=V)` writes
* `genesis.json`: the public chain parameters every node and wallet reads (chain id, spec,
  slot duration, genesis time, each validator's public keys and localhost ports, the
  genesis Safrole state in the w3f JSON form);
* `validators/<i>/keys.json` (mode 0600): validator i's secret seeds. A devnet is a
  private test network on one machine: these seeds are dev-only.

The chain spec of a devnet is `tiny` with V validators (the protocol only requires V to
be a multiple of 3 for erasure coding, which the devnet does not use, so any V >= 1 works).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey
from pydantic import BaseModel, ConfigDict, Field

from jamcore.block import Block, DisputesExtrinsic, Extrinsic, Header, header_hash
from jamcore.crypto.bandersnatch import public_from_secret, secret_from_seed
from jamcore.crypto.hashing import blake2b_256
from jamcore.safrole.genesis import genesis_state
from jamcore.safrole.state import (
    BLS_KEY_BYTES,
    METADATA_BYTES,
    SafroleState,
    ValidatorKey,
    state_from_json,
    state_to_json,
)
from jamcore.spec import TINY, ChainSpec
from shielded.circuits.artifacts import default_directory, ensure_artifacts
from shielded.finality.dkg import run_dkg
from shielded.finality.group import Scalar
from shielded.finality.keys import EpochKeys, KeyShare

MAX_DEVNET_VALIDATORS = 64
BASE_PORT = 30333


class GenesisError(Exception):
    """A devnet directory that cannot be created or read."""


class ValidatorInfo(BaseModel):
    """A validator's public identity and where it listens."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    index: int = Field(ge=0)
    ed25519: str
    """Hex ed25519 public key: p2p identity and signature key."""
    bandersnatch: str
    """Hex Bandersnatch public key: Safrole tickets and seals."""
    p2p_port: int = Field(gt=0, lt=65536)
    rpc_port: int = Field(gt=0, lt=65536)


class GenesisConfig(BaseModel):
    """genesis.json: everything public about a devnet."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    chain_id: str
    """Hex 32-byte chain identifier (random per devnet)."""
    spec: str = "tiny"
    validators_count: int = Field(ge=1, le=MAX_DEVNET_VALIDATORS)
    slot_duration: float = Field(gt=0, le=60)
    """Seconds per slot."""
    genesis_time: float
    """Unix time of slot 0; slot s starts at genesis_time + s * slot_duration."""
    validators: list[ValidatorInfo]
    safrole: dict[str, Any]
    """The genesis Safrole state (w3f JSON form)."""
    finality_keys: str
    """Hex encoding of the OSST epoch keys from the genesis DKG: group key Y and public
    shares y_i (design section 4)."""
    vk_hash: str
    """blake2b-256 of the spend circuit's verifying key (`circuit/verifying.key`): nodes and
    wallets refuse any other key."""
    accounts: dict[str, int]
    """Transparent accounts funded at genesis: hex ed25519 public key -> balance."""
    faucet_account: str
    """The funded account the devnet faucet pays from (its key is in accounts/faucet.json)."""

    def balances(self) -> dict[bytes, int]:
        return {bytes.fromhex(k): v for k, v in self.accounts.items()}

    def epoch_keys(self) -> EpochKeys:
        return EpochKeys.decode(bytes.fromhex(self.finality_keys))

    def slot_at(self, now: float) -> int:
        """The slot whose period holds the Unix time `now` (graypaper section 6.1: slots of
        P seconds, here from the devnet's genesis time)."""
        return max(0, int((now - self.genesis_time) // self.slot_duration))

    def chain_spec(self) -> ChainSpec:
        """The tiny spec with this devnet's validator count and slot duration."""
        return devnet_spec(self.validators_count)

    def safrole_state(self) -> SafroleState:
        return state_from_json(self.safrole)

    def validator_keys(self) -> list[bytes]:
        return [bytes.fromhex(v.ed25519) for v in self.validators]


@dataclass(frozen=True)
class ValidatorSecrets:
    """A validator's dev-only secret seeds and its OSST key share."""

    index: int
    ed25519_seed: bytes
    bandersnatch_seed: bytes
    finality_share: bytes
    """x_i, the validator's share of the group secret (32-byte canonical scalar)."""

    @property
    def key_share(self) -> KeyShare:
        return KeyShare(self.index, Scalar.decode(self.finality_share))

    @property
    def signing_key(self) -> SigningKey:
        return SigningKey(self.ed25519_seed)

    @property
    def bandersnatch_secret(self) -> bytes:
        return secret_from_seed(self.bandersnatch_seed)


def devnet_spec(validators: int) -> ChainSpec:
    """The `tiny` chain spec resized to `validators` validators."""
    if validators == TINY.validators_count:
        return TINY
    return replace(TINY, name=f"tiny-{validators}", validators_count=validators)


def genesis_block(config: GenesisConfig) -> Block:
    """The genesis block: slot 0, no parent, empty extrinsic, committing to the chain id."""
    header = Header(
        parent=bytes(32),
        parent_state_root=bytes.fromhex(config.chain_id),
        extrinsic_hash=bytes(32),
        slot=0,
        epoch_mark=None,
        tickets_mark=None,
        author_index=0,
        entropy_source=bytes(96),
        offenders_mark=(),
        seal=bytes(96),
    )
    extrinsic = Extrinsic((), (), (), (), DisputesExtrinsic((), (), ()))
    return Block(header, extrinsic)


def genesis_hash(config: GenesisConfig) -> bytes:
    return header_hash(genesis_block(config).header, config.chain_spec())


DEMO_ACCOUNTS = ("faucet", "alice", "bob")
FAUCET_BALANCE = 10**15
DEMO_BALANCE = 10**9


def create_devnet(
    directory: Path | str,
    validators: int = 6,
    slot_duration: float = 6.0,
    base_port: int = BASE_PORT,
    genesis_delay: float = 3.0,
) -> GenesisConfig:
    """Write a new devnet's genesis, validator keys, funded demo accounts and the spend
    circuit's keys into `directory` (which must not already hold a devnet).

    The circuit keys come from the dev-only single-party setup, cached per circuit version
    (`shielded.circuits.artifacts.ensure_artifacts`) and copied to `circuit/`."""
    directory = Path(directory)
    if not 1 <= validators <= MAX_DEVNET_VALIDATORS:
        raise GenesisError(f"--validators must be in 1..{MAX_DEVNET_VALIDATORS}, got {validators}")
    if (directory / "genesis.json").exists():
        raise GenesisError(f"{directory} already holds a devnet (genesis.json exists)")
    spec = devnet_spec(validators)
    chain_id = secrets.token_bytes(32)
    # The genesis DKG (Pedersen/Feldman VSS with complaints) runs here, in the process that
    # creates the devnet, and hands each validator its share: a dev-only simplification.
    dkg = run_dkg(validators)
    validator_secrets = [
        ValidatorSecrets(
            i, secrets.token_bytes(32), secrets.token_bytes(32), dkg.shares[i].secret.encode()
        )
        for i in range(validators)
    ]
    keys = [
        ValidatorKey(
            bandersnatch=public_from_secret(s.bandersnatch_secret),
            ed25519=bytes(s.signing_key.verify_key),
            bls=bytes(BLS_KEY_BYTES),
            metadata=bytes(METADATA_BYTES),
        )
        for s in validator_secrets
    ]
    entropy = blake2b_256(b"jam-shielded/genesis-entropy" + chain_id)
    circuit_keys = ensure_artifacts()
    account_seeds = {name: secrets.token_bytes(32) for name in DEMO_ACCOUNTS}
    account_keys = {
        name: bytes(SigningKey(seed).verify_key).hex() for name, seed in account_seeds.items()
    }
    state = genesis_state(keys, (entropy,) * 4, spec)
    config = GenesisConfig(
        chain_id=chain_id.hex(),
        validators_count=validators,
        slot_duration=slot_duration,
        genesis_time=time.time() + genesis_delay,
        validators=[
            ValidatorInfo(
                index=s.index,
                ed25519=key.ed25519.hex(),
                bandersnatch=key.bandersnatch.hex(),
                p2p_port=base_port + 2 * s.index,
                rpc_port=base_port + 2 * s.index + 1,
            )
            for s, key in zip(validator_secrets, keys, strict=True)
        ],
        safrole=state_to_json(state),
        finality_keys=dkg.keys.encode().hex(),
        vk_hash=circuit_keys.verifying.vk_hash,
        accounts={
            key: FAUCET_BALANCE if name == "faucet" else DEMO_BALANCE
            for name, key in account_keys.items()
        },
        faucet_account=account_keys["faucet"],
    )
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copytree(default_directory(), directory / "circuit", ignore=_lock_files)
    (directory / "accounts").mkdir(exist_ok=True)
    for name, seed in account_seeds.items():
        _write_private(
            directory / "accounts" / f"{name}.json",
            {"name": name, "ed25519_seed": seed.hex(), "public": account_keys[name]},
        )
    for validator in validator_secrets:
        validator_dir = directory / "validators" / str(validator.index)
        validator_dir.mkdir(parents=True, exist_ok=True)
        _write_private(
            validator_dir / "keys.json",
            {
                "index": validator.index,
                "ed25519_seed": validator.ed25519_seed.hex(),
                "bandersnatch_seed": validator.bandersnatch_seed.hex(),
                "finality_share": validator.finality_share.hex(),
            },
        )
    (directory / "genesis.json").write_text(config.model_dump_json(indent=2))
    return config


def load_genesis(directory: Path | str) -> GenesisConfig:
    path = Path(directory) / "genesis.json"
    try:
        return GenesisConfig.model_validate_json(path.read_text())
    except FileNotFoundError:
        raise GenesisError(f"no devnet in {directory} (run `shielded devnet init`)") from None
    except ValueError as error:
        raise GenesisError(f"{path} is not a valid genesis file: {error}") from error


def load_validator_secrets(directory: Path | str, index: int) -> ValidatorSecrets:
    path = Path(directory) / "validators" / str(index) / "keys.json"
    try:
        data = json.loads(path.read_text())
        return ValidatorSecrets(
            int(data["index"]),
            bytes.fromhex(data["ed25519_seed"]),
            bytes.fromhex(data["bandersnatch_seed"]),
            bytes.fromhex(data["finality_share"]),
        )
    except FileNotFoundError:
        raise GenesisError(f"no keys for validator {index} in {directory}") from None
    except (ValueError, KeyError, TypeError) as error:
        raise GenesisError(f"{path} is not a valid validator key file") from error


def _lock_files(_directory: str, names: list[str]) -> list[str]:
    return [name for name in names if name.startswith(".")]


def load_account_key(directory: Path | str, name: str) -> SigningKey:
    """A demo account's ed25519 signing key from `accounts/<name>.json` (dev-only)."""
    path = Path(directory) / "accounts" / f"{name}.json"
    try:
        return SigningKey(bytes.fromhex(json.loads(path.read_text())["ed25519_seed"]))
    except FileNotFoundError:
        raise GenesisError(f"no account {name!r} in {directory}/accounts") from None
    except (ValueError, KeyError, TypeError) as error:
        raise GenesisError(f"{path} is not a valid account key file") from error


def _write_private(path: Path, document: dict[str, Any]) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(document, file, indent=2)
