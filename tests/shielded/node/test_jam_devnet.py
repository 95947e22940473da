"""A devnet of six validator processes on jamcore's rules (`shielded devnet up`).

Blocks are graypaper blocks imported by jamcore's transition; the pool is a service whose
items are in the merklized state; deposits go through guarantees, erasure-coded shards and
assurances before the pool's accumulate takes them; OSST votes finalize blocks; a PVM
service is deployed and called. A validator killed with SIGKILL comes back from its store
and catches up.
"""

from __future__ import annotations

import time
import urllib.error
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from jamcore.state.keys import storage_key
from jamcore.state.trie_proof import TrieProof, verify_proof
from shielded.circuits.artifacts import load_proving
from shielded.native_registrar import FIRST_SERVICE_ID
from shielded.node import devnet, devnet_services
from shielded.node.genesis import GenesisConfig, load_account_key
from shielded.node.jam_devnet import POOL_SERVICE_ID
from shielded.node.sample_service import SAMPLE_OUTPUT_KEY, sample_refine_output
from shielded.notes.keys import SpendingKey
from shielded.pool_storage import META_KEY
from shielded.service import PoolConfig, PoolState
from shielded.transaction import Payment, Transaction, TransactionPlan, build_transaction
from tests.shielded.node.test_faults import RPC_TIMEOUT, FinalityWatch, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("devnet")]

VALIDATORS = 6
SLOT = 1.0
GENESIS_DELAY = 20.0
"""Slot 0 starts this long after init: the first deposits are proven for epoch 0 meanwhile."""


def heads(config: GenesisConfig, indices: list[int]) -> dict[int, dict[str, Any]]:
    """system_status of the validators of `indices` whose RPC answers."""
    rows = {}
    for i in indices:
        try:
            port = config.validators[i].rpc_port
            rows[i] = devnet.rpc_call(port, "system_status", timeout=RPC_TIMEOUT)
        except (ConnectionError, urllib.error.URLError):
            continue  # not listening (yet)
    return rows


def canonical_hash(config: GenesisConfig, index: int, height: int) -> str:
    port = config.validators[index].rpc_port
    header = devnet.rpc_call(port, "chain_getHeader", {"height": height}, timeout=RPC_TIMEOUT)
    return str(header["hash"])


def deposits(directory: Path, config: GenesisConfig, epoch: int) -> list[Transaction]:
    """Proven deposits from alice and bob into one address, valid at `epoch`."""
    keys = load_proving(directory / "circuit", config.vk_hash)
    chain_id = bytes.fromhex(config.chain_id)
    state = PoolState.genesis(PoolConfig(chain_id=chain_id), config.balances())
    recipient = SpendingKey.from_seed(b"jam-devnet recipient".ljust(32, b"\0"))
    made = []
    for account, amount in (("alice", 1_000), ("bob", 2_000)):
        plan = TransactionPlan(
            anchor=state.trees.anchor,
            epoch=epoch,
            lifetime=state.config.lifetime,
            change_key=recipient,
            chain_id=chain_id,
            payments=(Payment(recipient.address, amount),),
            deposit_from=load_account_key(directory, account),
            deposit_amount=amount,
        )
        made.append(build_transaction(keys, plan))
    return made


def statuses(
    config: GenesisConfig, tx_ids: list[str], indices: list[int] | None = None
) -> set[str]:
    """The statuses the validators (all, or `indices`) give the transactions."""
    ports = [v.rpc_port for v in config.validators if indices is None or v.index in indices]
    return {
        devnet.rpc_call(port, "pool_getTransactionStatus", {"tx_id": tx_id}, timeout=RPC_TIMEOUT)[
            "status"
        ]
        for port in ports
        for tx_id in tx_ids
    }


def accept_deposits(directory: Path, config: GenesisConfig) -> list[str]:
    """Prove, submit and wait until every validator's pool accepted both deposits. A proof
    aimed at an epoch that went by while proving (a loaded machine) is made again."""
    epoch_seconds = config.chain_spec().epoch_length * config.slot_duration
    epoch = 0
    for _attempt in range(3):
        started = time.time()
        transactions = deposits(directory, config, epoch)
        proving = time.time() - started
        tx_ids = [
            devnet.rpc_call(
                config.validators[3 * i].rpc_port,
                "pool_submitTransaction",
                {"transaction": tx.encode().hex()},
                timeout=RPC_TIMEOUT,
            )["tx_id"]
            for i, tx in enumerate(transactions)
        ]
        assert tx_ids == [tx.tx_id.hex() for tx in transactions]
        seen = wait_for(
            lambda ids=tx_ids: (s := statuses(config, ids)) <= {"included", "rejected"} and s,
            90,
            "every validator's pool to settle the deposits",
        )
        if seen == {"included"}:
            # A copy with another proof is refused at submission (refine's checks).
            forged = replace(transactions[0], proof=bytes(256))
            with pytest.raises(RuntimeError, match="rejected"):
                devnet.rpc_call(
                    config.validators[1].rpc_port,
                    "pool_submitTransaction",
                    {"transaction": forged.encode().hex()},
                    timeout=RPC_TIMEOUT,
                )
            return tx_ids
        # Aim the next proofs at the epoch after proving (2x the last proving time).
        ahead = time.time() + 2 * proving + 2 * config.slot_duration
        epoch = max(0, int((ahead - config.genesis_time) // epoch_seconds))
    raise AssertionError("the deposits were never accepted")


def test_a_jam_devnet_carries_deposits_through_guarantees_and_availability(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "devnet"
    config = devnet.init(
        directory,
        VALIDATORS,
        slot_duration=SLOT,
        base_port=devnet.free_base_port(2 * VALIDATORS),
        genesis_delay=GENESIS_DELAY,
    )
    everyone = list(range(VALIDATORS))
    try:
        devnet.up(directory)
        wait_for(
            lambda: all(
                row["state"] == "up" and row["peers"] == VALIDATORS - 1
                for row in devnet.status(directory)
            ),
            60,
            "every validator to be up and connected to the five others",
        )
        tx_ids = accept_deposits(directory, config)

        # Every validator's pool took them: one chain, the same state.
        rows = wait_for(
            lambda: (
                len(r := heads(config, everyone)) == VALIDATORS
                and len({row["head"]["hash"] for row in r.values()}) == 1
                and r
            ),
            60,
            "the validators to agree on one head",
        )
        assert all(row["import_path"] == "jamcore" for row in rows.values())
        # OSST finality: every validator finalizes, and they hold the same final blocks.
        final = wait_for(
            lambda: (
                len(r := heads(config, everyone)) == VALIDATORS
                and min(row["finalized"]["height"] for row in r.values()) >= 3
                and r
            ),
            60,
            "every validator to finalize",
        )
        low = min(row["finalized"]["height"] for row in final.values())
        assert len({canonical_hash(config, i, low) for i in everyone}) == 1
        assert len({row["state_root"] for row in rows.values()}) == 1

        # The pool's items are in the state trie: prove its meta item at the head.
        port = config.validators[2].rpc_port
        proof = devnet.rpc_call(
            port,
            "state_getProof",
            {"service": POOL_SERVICE_ID, "item": META_KEY.hex()},
            timeout=RPC_TIMEOUT,
        )
        key = storage_key(POOL_SERVICE_ID, META_KEY)
        assert proof["key"] == "0x" + key.hex() and proof["value"] is not None
        assert verify_proof(
            bytes.fromhex(proof["state_root"][2:]),
            key,
            bytes.fromhex(proof["value"][2:]),
            TrieProof.from_json(proof["proof"]),
        )
        stats = devnet.rpc_call(port, "pool_getStats", timeout=RPC_TIMEOUT)
        assert stats["stored_items"] > 0

        # A PVM service: deployed through the registrar, then sent a work package that
        # every validator refines and accumulates in the PVM.
        service = devnet_services.deploy(directory, devnet_services.read_blob("sample"))
        assert service >= FIRST_SERVICE_ID
        devnet_services.submit(directory, service, b"payload", via=4)
        for index in everyone:
            devnet_services.wait_for_item(
                directory, service, SAMPLE_OUTPUT_KEY, sample_refine_output(b"payload"), index
            )
        with pytest.raises(devnet_services.ServiceCommandError, match="no code"):
            devnet_services.submit(directory, service + 1, b"payload")

        # SIGKILL one validator; the others go on; it restarts from its store and catches up.
        devnet.down(directory, only=[5], hard=True)
        before = heads(config, [0])[0]["head"]["height"]
        wait_for(
            lambda: heads(config, [0])[0]["head"]["height"] >= before + 3,
            60,
            "the five others to go on",
        )
        devnet.up(directory, only=[5])
        wait_for(
            lambda: (
                len(r := heads(config, [0, 5])) == 2
                and r[5]["head"]["height"] >= r[0]["head"]["height"] - 1
                and r[5]["head"]["height"] > before
            ),
            90,
            "the restarted validator to catch up",
        )
        # The restarted validator still answers for the deposits (its index of compact
        # blocks is rebuilt from its store).
        assert statuses(config, tx_ids) == {"included"}
    finally:
        devnet.down(directory)


PARTITION_UNTIL = 30


def test_a_partitioned_jam_validator_rejoins_and_no_final_block_is_replaced(
    tmp_path: Path,
) -> None:
    """Validator 5 is off the network until slot PARTITION_UNTIL and builds a branch of its
    own; the five others finalize meanwhile (t = 5). Back, it takes their chain (its own
    branch is far behind and its votes alone favour it), finalizes with them, and no
    validator ever replaces a final block."""
    directory = tmp_path / "devnet"
    config = devnet.init(
        directory, VALIDATORS, slot_duration=SLOT, base_port=devnet.free_base_port(2 * VALIDATORS)
    )
    everyone = list(range(VALIDATORS))
    watch = FinalityWatch(config)
    try:
        devnet.up(directory, only=everyone[:5])
        devnet.up(
            directory,
            only=[5],
            env={"JAM_FAULT_PARTITION_UNTIL": str(PARTITION_UNTIL)},
        )
        during = wait_for(
            lambda: (
                len(r := heads(config, everyone)) == VALIDATORS
                and min(r[i]["finalized"]["height"] for i in range(5)) >= 2
                and r
            ),
            90,
            "the five to finalize during the partition",
        )
        assert during[0]["slot"] < PARTITION_UNTIL, "the validators started too slowly"
        watch.observe(during)
        assert during[5]["finalized"]["height"] == 0
        rejoined = wait_for(
            lambda: (
                len(r := watch.poll(directory)) == VALIDATORS
                and r[5]["finalized"]["height"] >= r[0]["finalized"]["height"] - 1 > 0
                and r[0]["slot"] >= PARTITION_UNTIL + 5
                and r
            ),
            90,
            "validator 5 to rejoin and finalize with the others",
        )
        low = min(row["finalized"]["height"] for row in rejoined.values())
        assert len({canonical_hash(config, i, low) for i in everyone}) == 1
        watch.check_all(everyone)
    finally:
        devnet.down(directory)
