"""The wallet's pins (issue 22): the chain id and the verifying-key hash come from the
devnet's genesis file (or the user) when the wallet is created, are kept in the wallet file,
and a node whose `system_status` disagrees is refused. Bad input (a truncated genesis file or
key, a key for another circuit) is a clear error naming it, and nothing is written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import groth16py
import pytest

from shielded.circuits.artifacts import VERIFYING_KEY_FILE
from shielded.node.genesis import GenesisConfig, create_devnet
from shielded.node.jsonrpc import Dispatcher, Params
from tests.wallet.conftest import ServedDispatcher
from wallet import keystore
from wallet.pins import ChainPins, PinError, pins_from_genesis
from wallet.wallet import Wallet, WalletError

MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenesisConfig]:
    """A devnet directory (genesis.json and circuit keys); no validator runs."""
    directory = tmp_path_factory.mktemp("pins") / "devnet"
    return directory, create_devnet(directory, validators=1, base_port=41_000)


class StatusNode:
    """A node whose system_status reports `status` (the test changes it)."""

    def __init__(self, status: dict[str, Any]) -> None:
        self.status = status
        dispatcher = Dispatcher()

        @dispatcher.method("system_status")
        def system_status(_: Params) -> dict[str, Any]:
            return dict(self.status)

        self.served = ServedDispatcher(dispatcher)
        self.url = self.served.url


@pytest.fixture
def node(devnet: tuple[Path, GenesisConfig]) -> Iterator[StatusNode]:
    _, config = devnet
    served = StatusNode({"chain_id": "0x" + config.chain_id, "vk_hash": config.vk_hash})
    yield served
    served.served.close()


def create(path: Path, url: str, **options: Any) -> Wallet:
    return Wallet.create(
        path, "pw", mnemonic=MNEMONIC, node_url=url, kdf=keystore.FAST_KDF, **options
    )


def test_wallet_is_pinned_from_the_genesis_file_at_creation(
    tmp_path: Path, devnet: tuple[Path, GenesisConfig], node: StatusNode
) -> None:
    directory, config = devnet
    pins = pins_from_genesis(directory / "genesis.json")
    assert pins == pins_from_genesis(directory) == ChainPins.of_genesis(config)
    path = tmp_path / "w.wallet"
    wallet = create(path, node.url, circuit_dir=directory / "circuit", pins=pins)
    document = json.loads(path.read_bytes())
    assert document["version"] == keystore.FORMAT_VERSION == 2
    assert document["chain"] == {"chain_id": "0x" + config.chain_id, "vk_hash": config.vk_hash}
    assert wallet.node_status()["chain_id"] == "0x" + config.chain_id and not wallet.notices
    assert wallet.pinned() == pins
    wallet.add_account("second", "pw")  # a re-save keeps the pins
    reopened = Wallet.open(path, "pw")
    assert reopened.pins == pins and reopened.secrets.account("second").index == 1
    for wallet_ in (wallet, reopened):
        wallet_.close()


@pytest.mark.parametrize(
    ("field", "reported", "message"),
    [
        ("chain_id", "0x" + "11" * 32, "is on chain 0x1111.*, this wallet is pinned to chain 0x"),
        ("vk_hash", "22" * 32, "uses verifying key 2222.*, this wallet is pinned to"),
        ("chain_id", None, "reports no usable chain pins"),
    ],
)
def test_invalid_node_that_disagrees_with_the_pins_is_refused(
    tmp_path: Path,
    devnet: tuple[Path, GenesisConfig],
    node: StatusNode,
    field: str,
    reported: str | None,
    message: str,
) -> None:
    directory, _ = devnet
    wallet = create(tmp_path / "w.wallet", node.url, pins=pins_from_genesis(directory))
    node.status[field] = reported
    for action in (wallet.sync, wallet.proving, lambda: wallet.builder(wallet.account(0))):
        with pytest.raises(WalletError, match=message):
            action()
    assert wallet.pins == pins_from_genesis(directory)
    wallet.close()


def test_unpinned_wallet_pins_its_first_node_and_says_so(
    tmp_path: Path, devnet: tuple[Path, GenesisConfig], node: StatusNode
) -> None:
    directory, _ = devnet
    path = tmp_path / "w.wallet"
    wallet = create(path, node.url)
    assert wallet.pins is None and keystore.read_pins(path) is None
    wallet.node_status()
    assert wallet.pins == keystore.read_pins(path) == pins_from_genesis(directory)
    assert len(wallet.notices) == 1 and "trust on first use" in wallet.notices[0]
    node.status["chain_id"] = "0x" + "33" * 32
    with pytest.raises(WalletError, match="pinned to chain"):
        Wallet.open(path, "pw").node_status()
    wallet.close()


def test_version_1_wallet_file_opens_and_is_pinned_on_first_contact(
    tmp_path: Path, devnet: tuple[Path, GenesisConfig], node: StatusNode
) -> None:
    directory, _ = devnet
    path = tmp_path / "old.wallet"
    create(path, node.url).close()
    document = json.loads(path.read_bytes())
    document["version"] = 1
    path.write_text(json.dumps(document))
    old = Wallet.open(path, "pw")
    assert old.pins is None and old.account(0).address
    old.node_status()
    upgraded = json.loads(path.read_bytes())
    assert upgraded["version"] == 2 and upgraded["ciphertext"] == document["ciphertext"]
    assert Wallet.open(path, "pw").pins == pins_from_genesis(directory)
    old.close()


def test_invalid_truncated_genesis_file_is_named(tmp_path: Path, devnet: tuple[Path, Any]) -> None:
    directory, _ = devnet
    truncated = tmp_path / "genesis.json"
    truncated.write_bytes((directory / "genesis.json").read_bytes()[:200])
    with pytest.raises(PinError, match=f"{truncated} is not a valid genesis file"):
        pins_from_genesis(truncated)
    with pytest.raises(PinError, match="cannot read the genesis file"):
        pins_from_genesis(tmp_path / "missing.json")


def circuit_copy(devnet: tuple[Path, GenesisConfig], target: Path) -> Path:
    shutil.copytree(devnet[0] / "circuit", target)
    return target / VERIFYING_KEY_FILE


def assert_nothing_written(path: Path) -> None:
    assert not path.exists() and not Wallet.store_path(path).exists()


def test_invalid_truncated_circuit_key_creates_no_wallet(
    tmp_path: Path, devnet: tuple[Path, GenesisConfig]
) -> None:
    key_file = circuit_copy(devnet, tmp_path / "circuit")
    key_file.write_bytes(key_file.read_bytes()[:100])
    path = tmp_path / "w.wallet"
    with pytest.raises(WalletError, match=f"{key_file} does not load .truncated or corrupt"):
        create(
            path,
            "http://127.0.0.1:9/",
            circuit_dir=tmp_path / "circuit",
            pins=pins_from_genesis(devnet[0]),
        )
    assert_nothing_written(path)


def test_invalid_key_for_another_circuit_creates_no_wallet(
    tmp_path: Path, devnet: tuple[Path, GenesisConfig]
) -> None:
    key_file = circuit_copy(devnet, tmp_path / "circuit")
    document = json.loads(groth16py.VerifyingKey.load(str(key_file)).to_json())
    document["IC"], document["nPublic"] = document["IC"][:2], 1
    groth16py.VerifyingKey.from_snarkjs(json.dumps(document)).save(str(key_file))
    path = tmp_path / "w.wallet"
    with pytest.raises(WalletError, match=f"{key_file} is for another circuit"):
        create(path, "http://127.0.0.1:9/", circuit_dir=tmp_path / "circuit")
    assert_nothing_written(path)


def test_invalid_pin_that_the_circuit_key_does_not_match_creates_no_wallet(
    tmp_path: Path, devnet: tuple[Path, GenesisConfig]
) -> None:
    other = ChainPins(bytes.fromhex(devnet[1].chain_id), "44" * 32)
    path = tmp_path / "w.wallet"
    with pytest.raises(WalletError, match=f"expected {'44' * 32}"):
        create(path, "http://127.0.0.1:9/", circuit_dir=devnet[0] / "circuit", pins=other)
    assert_nothing_written(path)
    with pytest.raises(PinError, match="vk_hash must be 64 hex digits"):
        ChainPins.parse("00" * 32, "not hex")


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHIELDED_WALLET_PASSPHRASE": "pw", "SHIELDED_WALLET_MNEMONIC": MNEMONIC}
    command = [sys.executable, "-m", "app.cli", "wallet", *args]
    return subprocess.run(
        [*command, "--file", str(tmp_path / "w.wallet"), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_cli_restore_pins_from_genesis_or_names_the_bad_file(
    tmp_path: Path, devnet: tuple[Path, GenesisConfig]
) -> None:
    directory, config = devnet
    bad = tmp_path / "bad-genesis.json"
    bad.write_text("{")
    failed = run_cli(tmp_path, "restore", "--genesis", str(bad))
    assert failed.returncode == 1 and str(bad) in failed.stderr
    assert_nothing_written(tmp_path / "w.wallet")
    made = run_cli(tmp_path, "restore", "--genesis", str(directory / "genesis.json"))
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["pins"]["chain_id"] == "0x" + config.chain_id
