"""Trusted-setup artifacts of the spend circuit: created once, cached on disk, loaded by path.

`setup_artifacts(directory)` compiles `spend.circom` (circomlib vendored in groth16py, no
node or circom binary needed) and runs groth16py's single-party Groth16 setup. This is a
DEV-ONLY setup: whoever runs it learns the toxic waste and could forge proofs; a production
chain would import a multi-party ceremony `.zkey` instead (groth16py.import_zkey).

A directory holds `proving.key`, `verifying.key` (arkworks serialization) and
`manifest.json` with the circuit source digest and the verifying-key hash, blake2b-256 of
`verifying.key`. Loading recomputes that hash and refuses keys that differ from the manifest
or from the hash the caller expects (a devnet's genesis carries it), so a swapped key file
cannot make validators accept forged proofs.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import groth16py

from shielded.circuits.errors import CircuitError, ensure

CIRCUIT_SOURCE = Path(__file__).with_name("spend.circom")
PROVING_KEY_FILE = "proving.key"
VERIFYING_KEY_FILE = "verifying.key"
MANIFEST_FILE = "manifest.json"
PUBLIC_INPUTS = 15
"""The spend statement's public inputs (`shielded.circuits.spend.SpendStatement`): anchor,
epoch, expiry limit, 2 nullifiers, 2 input tiers, 2 output commitments, 2 output tiers,
public in, public out, fee, binding."""
SETUP_LABEL = "DEV-ONLY single-party Groth16 setup (toxic waste not destroyed verifiably)"


def circuit_digest() -> str:
    """blake2b-256 of the circuit source: which circuit a set of keys belongs to."""
    return hashlib.blake2b(CIRCUIT_SOURCE.read_bytes(), digest_size=32).hexdigest()


def default_directory() -> Path:
    """~/.cache/jam-shielded/spend-<digest prefix> ($JAM_SHIELDED_CACHE overrides the root)."""
    root = Path(os.environ.get("JAM_SHIELDED_CACHE", Path.home() / ".cache" / "jam-shielded"))
    return root / f"spend-{circuit_digest()[:16]}"


def key_hash(raw: bytes) -> str:
    """The verifying-key hash a genesis pins: blake2b-256 of the serialized key."""
    return hashlib.blake2b(raw, digest_size=32).hexdigest()


@dataclass(frozen=True)
class VerifyingArtifacts:
    """A verifying key with its checked hash (all a validator needs)."""

    verifying_key: groth16py.VerifyingKey
    vk_hash: str


@dataclass(frozen=True)
class ProvingArtifacts:
    """The proving key (with the compiled witness generator) and its verifying key."""

    proving_key: groth16py.ProvingKey
    verifying: VerifyingArtifacts


@contextmanager
def _compiler_output_to_stderr() -> Iterator[None]:
    """The circom compiler inside groth16py writes its statistics to file descriptor 1;
    send them to stderr so that commands printing JSON on stdout stay parseable."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def setup_artifacts(directory: Path) -> ProvingArtifacts:
    """Compile the circuit, run the dev-only setup, save the keys and return them."""
    directory.mkdir(parents=True, exist_ok=True)
    try:
        with _compiler_output_to_stderr():
            proving_key, verifying_key = groth16py.setup_circom(
                str(CIRCUIT_SOURCE), [groth16py.circomlib_path(2)]
            )
    except groth16py.SetupError as error:
        raise CircuitError(f"spend circuit setup failed: {error}") from error
    partial = directory / f".{os.getpid()}"
    partial.mkdir(exist_ok=True)
    proving_key.save(str(partial / PROVING_KEY_FILE))
    verifying_key.save(str(partial / VERIFYING_KEY_FILE))
    vk_hash = key_hash((partial / VERIFYING_KEY_FILE).read_bytes())
    manifest = {
        "circuit": "spend-2x2",
        "circuit_digest": circuit_digest(),
        "vk_hash": vk_hash,
        "public_inputs": verifying_key.n_public,
        "label": SETUP_LABEL,
    }
    (partial / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    # Move the manifest last: a reader never sees a manifest before both keys are complete.
    for name in (PROVING_KEY_FILE, VERIFYING_KEY_FILE, MANIFEST_FILE):
        os.replace(partial / name, directory / name)
    partial.rmdir()
    return ProvingArtifacts(proving_key, VerifyingArtifacts(verifying_key, vk_hash))


def read_manifest(directory: Path) -> dict[str, object]:
    path = directory / MANIFEST_FILE
    ensure(path.is_file(), f"no setup manifest at {path}")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise CircuitError(f"setup manifest {path} is not JSON: {error}") from error
    ensure(isinstance(manifest, dict) and "vk_hash" in manifest, f"{path} lacks vk_hash")
    return manifest


def load_verifying(directory: Path, expected_vk_hash: str | None = None) -> VerifyingArtifacts:
    """Load the verifying key, checking its hash against the manifest and `expected_vk_hash`.

    The file is read once: the hash is of the bytes that are then parsed, so the key checked
    is the key used even if the file changes in between. CircuitError, naming the file, if
    it is missing, truncated or corrupt, is a key for another circuit (not the spend
    circuit's PUBLIC_INPUTS public inputs), or has another hash."""
    manifest = read_manifest(directory)
    path = directory / VERIFYING_KEY_FILE
    ensure(path.is_file(), f"no verifying key at {path}")
    raw = path.read_bytes()
    verifying_key = parse_verifying_key(raw, path)
    vk_hash = key_hash(raw)
    ensure(
        vk_hash == manifest["vk_hash"],
        f"verifying key {path} has hash {vk_hash}, manifest says {manifest['vk_hash']}",
    )
    ensure(
        expected_vk_hash is None or vk_hash == expected_vk_hash,
        f"verifying key {path} has hash {vk_hash}, expected {expected_vk_hash}",
    )
    ensure(
        manifest.get("circuit_digest") == circuit_digest(),
        f"keys in {directory} were made for another version of spend.circom",
    )
    return VerifyingArtifacts(verifying_key, vk_hash)


def parse_verifying_key(raw: bytes, path: Path) -> groth16py.VerifyingKey:
    """The spend circuit's verifying key serialized in `raw` (read from `path`, named in
    errors). groth16py loads keys only from files, so `raw` is loaded from a private copy
    (a fresh 0700 temporary directory), never from `path` again."""
    with tempfile.TemporaryDirectory(prefix="jam-shielded-vk-") as private:
        copy = Path(private) / VERIFYING_KEY_FILE
        copy.write_bytes(raw)
        try:
            verifying_key = groth16py.VerifyingKey.load(str(copy))
        except Exception as error:  # the extension raises its own types for corrupt files
            raise CircuitError(
                f"verifying key {path} does not load (truncated or corrupt, {len(raw)} bytes):"
                f" {error}"
            ) from error
    ensure(
        verifying_key.n_public == PUBLIC_INPUTS,
        f"verifying key {path} is for another circuit: {verifying_key.n_public} public "
        f"inputs, the spend circuit has {PUBLIC_INPUTS}",
    )
    return verifying_key


def load_proving(directory: Path, expected_vk_hash: str | None = None) -> ProvingArtifacts:
    """Load the proving key and the (hash-checked) verifying key from `directory`."""
    verifying = load_verifying(directory, expected_vk_hash)
    path = directory / PROVING_KEY_FILE
    ensure(path.is_file(), f"no proving key at {path}")
    try:
        proving_key = groth16py.ProvingKey.load(str(path))
    except Exception as error:
        raise CircuitError(f"proving key {path} does not load: {error}") from error
    return ProvingArtifacts(proving_key, verifying)


def ensure_artifacts(
    directory: Path | None = None, expected_vk_hash: str | None = None
) -> ProvingArtifacts:
    """The keys cached in `directory`, running the (slow, dev-only) setup only if none exist."""
    directory = directory or default_directory()
    directory.mkdir(parents=True, exist_ok=True)
    # One setup per directory even when several processes (test workers, nodes) start at once.
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (directory / MANIFEST_FILE).is_file():
            keys = setup_artifacts(directory)
            ensure(
                expected_vk_hash is None or keys.verifying.vk_hash == expected_vk_hash,
                f"fresh setup in {directory} does not match the expected vk hash",
            )
            return keys
    return load_proving(directory, expected_vk_hash)
