"""Devnet node benchmarks on the validator program (`shielded.node.jam_node`: graypaper
blocks imported by jamcore, the pool a service): finality latency, restart catch-up and
shielded throughput.

One 6-validator devnet with 1 s slots (`devnet.up(directory)`, validators on jamcore) runs:
* `node.finality_latency_slots`: for each block made final while validator 0 is watched,
  the slots between its slot and the slot at which validator 0 reported it final
  (system_status polled every 0.1 s); median. `node.finality_latency_s` is the same in
  seconds from the start of the block's slot (1 s slots make the slot figure coarse).
* `node.restart_catchup_s`: validator 5 is SIGKILLed, the chain advances ~10 blocks, then
  the time from `devnet up` until its head equals validator 0's (process start, loading
  keys and the store, and sync); `node.restart_rpc_up_s` is the process-start part.
* `node.tx_per_s`: shielded transfers final per second. First DEPOSITS deposits (from the
  genesis-funded demo accounts) each put two notes into the pool (`node.deposit_tx_per_s`
  times them the same way); once final, every note is found by trial decryption of the
  compact blocks (pool_getCompactBlocks) and its witness fetched at one anchor. Then
  TRANSFERS fee-paying transfers, one per note, are proved beforehand in worker processes
  for an epoch E ahead and submitted all at once (round-robin to the validators) three
  slots before E begins (validators hold them until a package of theirs can land in E);
  the figure is the transfers final over the seconds from the start of E (or the
  submission, if later) until the last of them was seen final. Wallets on this machine cannot prove
  that fast (about one proof per second per core), so the batch is proved before it is
  timed: the figure is the chain's, not the wallets'.

What is timed, on this path: a submitted transaction waits in the mempools for the pool
core's next guarantor (one per slot), who packages up to 64 (`node.tx_per_s_block_capacity`)
and has it refined and co-signed; its guarantee goes into the next block N, the validators'
assurances of its availability into block N+1, which accumulates it (the pool's accumulate
admits it: epoch, anchor, nullifiers, fee); it is final once a block at or after N+1 is.
The pool core holds one report at a time (rho); a builder builds the next package while
one guarantee waits for a block, so the block whose assurances free the core carries the
next guarantee. A builder packages transactions only for the epoch in which its package
can be accumulated (two slots on), so a batch for epoch E is packaged from E's start minus
two slots and accumulated from E's first block.

The import figures of the validator program (blocks against 10k/100k/1M-note pools, and
the restarted validator's memory) are `bench.node_jam`'s.
"""

from __future__ import annotations

import math
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench import Figure
from jamcore.crypto.hashing import blake2b_256
from shielded.circuits.artifacts import ProvingArtifacts, load_proving
from shielded.circuits.spend import SpendInput
from shielded.node import devnet
from shielded.node.genesis import DEMO_ACCOUNTS, GenesisConfig, load_account_key
from shielded.node.jam_guarantee_flow import INCLUSION_SLOTS
from shielded.notes.encryption import trial_decrypt
from shielded.notes.keys import SpendingKey
from shielded.notes.note import Note, Tier
from shielded.notes.tree import MembershipWitness
from shielded.service import PoolConfig
from shielded.transaction import (
    MAX_TRANSACTIONS_PER_BLOCK,
    Payment,
    Transaction,
    TransactionPlan,
    build_transaction,
)

VALIDATORS = 6
SLOT_SECONDS = 1.0
DEPOSITS = 64
"""Deposits of two notes each: one full block."""
TRANSFERS = 2 * DEPOSITS
"""Transfers timed by node.tx_per_s, one per deposited note: two full blocks."""
WORKERS = 2
PROVING_MARGIN = 1.3
"""Aim a batch at the epoch after 1.3 times the estimated proving time."""
NOTE_VALUE = 1_000_000
LATENCY_SECONDS = 12.0
CATCHUP_BLOCKS = 10
RPC_TIMEOUT = 15.0
SUBMIT_SLACK = 3
"""A batch proved for epoch E is still submitted if proving ended by E's slot 3 (it needs
about two slots per package of 64 to be accumulated within E), else proved again."""


def figures() -> Iterator[Figure]:
    """The live devnet's figures (module docstring)."""
    with tempfile.TemporaryDirectory(prefix="bench-node-") as temporary:
        directory = Path(temporary) / "devnet"
        config = devnet.init(
            directory, VALIDATORS, SLOT_SECONDS, devnet.free_base_port(2 * VALIDATORS)
        )
        with ProcessPoolExecutor(
            WORKERS,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_load_keys,
            initargs=(str(directory), config.vk_hash, config.chain_id),
        ) as provers:
            # Workers load the proving key while the devnet starts.
            warmup = [provers.submit(_warm) for _ in range(WORKERS)]
            try:
                devnet.up(directory)
                devnet.wait_until_producing(directory, height=2, timeout=120)
                latency_slots, latency_s = _finality_latency(config)
                yield Figure("node.finality_latency_slots", latency_slots, "slots (median)")
                yield Figure(
                    "node.finality_latency_s", latency_s, "s from slot start (median, poll 0.1 s)"
                )
                rpc_up, catchup, behind = _restart_catchup(directory, config)
                yield Figure("node.restart_catchup_s", catchup, f"s (behind {behind} blocks)")
                yield Figure("node.restart_rpc_up_s", rpc_up, "s")
                for future in warmup:
                    future.result()
                anchor = _rpc(config, 0, "pool_getAnchor")
                _, batch, round_seconds = _prove_batch(
                    provers,
                    config,
                    _prove_deposit,
                    lambda target: [
                        (
                            i,
                            target,
                            int(anchor["anchor"], 16),
                            anchor["lifetime"],
                            anchor["collateral_per_note"],
                        )
                        for i in range(DEPOSITS)
                    ],
                )
                rate, final, blocks = _throughput(config, batch)
                yield Figure(
                    "node.deposit_tx_per_s",
                    rate,
                    f"tx/s ({final} of {DEPOSITS} deposits final, in {blocks} blocks)",
                )
                transfers = _transfer_jobs(config)
                _, sent, _ = _prove_batch(
                    provers, config, _prove_transfer, transfers, round_seconds
                )
                tx_per_s, final, blocks = _throughput(config, sent)
                yield Figure("node.tx_per_s", tx_per_s, "tx/s (shielded transfers, final)")
                yield Figure("node.tx_per_s_batch", final, f"transfers final of {TRANSFERS} sent")
                yield Figure("node.tx_per_s_blocks", blocks, "blocks that accumulated the batch")
                yield Figure(
                    "node.tx_per_s_block_capacity",
                    min(PoolConfig().spec.block_capacity, MAX_TRANSACTIONS_PER_BLOCK),
                    "tx per pool package (one package on the pool core at a time)",
                )
            finally:
                devnet.down(directory)


# --- live devnet ----------------------------------------------------------------------


def _rpc(config: GenesisConfig, index: int, method: str, params: Any = None) -> Any:
    """A call to validator `index`, patient with a node busy importing on a loaded machine."""
    return devnet.rpc_call(config.validators[index].rpc_port, method, params, RPC_TIMEOUT)


def _status(config: GenesisConfig, index: int) -> dict[str, Any]:
    """system_status of validator `index`."""
    result = _rpc(config, index, "system_status")
    assert isinstance(result, dict)
    return result


def _finality_latency(config: GenesisConfig) -> tuple[float, float]:
    """Medians, over the blocks made final while validator 0 is watched, of the slots from
    a block's slot to the slot at which validator 0 reported it final, and of the seconds
    from the start of the block's slot to that report."""
    final_height = _status(config, 0)["finalized"]["height"]
    slots, seconds = [], []
    deadline = time.time() + LATENCY_SECONDS
    while time.time() < deadline:
        status = _status(config, 0)
        seen = time.time()
        for height in range(final_height + 1, status["finalized"]["height"] + 1):
            block_slot = _rpc(config, 0, "chain_getHeader", {"height": height})["slot"]
            slots.append(status["slot"] - block_slot)
            seconds.append(seen - (config.genesis_time + block_slot * config.slot_duration))
        final_height = max(final_height, status["finalized"]["height"])
        time.sleep(0.1)
    if not slots:
        raise RuntimeError(f"no block became final within {LATENCY_SECONDS}s")
    return float(statistics.median(slots)), float(statistics.median(seconds))


def _restart_catchup(directory: Path, config: GenesisConfig) -> tuple[float, float, int]:
    """(seconds until the restarted validator's RPC answers, until its head equals the
    others', how many blocks it was behind)."""
    victim = VALIDATORS - 1
    devnet.down(directory, only=[victim], hard=True)
    killed_at = _status(config, victim - 1)["head"]["height"]
    _wait(
        lambda: _status(config, 0)["head"]["height"] >= killed_at + CATCHUP_BLOCKS,
        60,
        "the chain to advance without the killed validator",
    )
    behind = _status(config, 0)["head"]["height"] - killed_at
    started = time.perf_counter()
    devnet.up(directory, only=[victim])
    rpc_up = None
    while time.perf_counter() - started < 120:
        try:
            mine = _status(config, victim)["head"]
        except (OSError, RuntimeError):
            time.sleep(0.1)
            continue
        if rpc_up is None:
            rpc_up = time.perf_counter() - started
        if mine["hash"] == _status(config, 0)["head"]["hash"]:
            return rpc_up, time.perf_counter() - started, behind
        time.sleep(0.1)
    raise RuntimeError("the restarted validator did not catch up in 120 s")


def _wait(condition: Any, timeout: float, what: str) -> None:
    """Poll `condition` until it holds; RuntimeError naming `what` after `timeout` s."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


def _prove_batch(
    provers: ProcessPoolExecutor,
    config: GenesisConfig,
    prove: Callable[[tuple[Any, ...]], bytes],
    jobs_for: Callable[[int], list[tuple[Any, ...]]],
    round_seconds: float | None = None,
) -> tuple[int, list[bytes], float]:
    """Transactions proved (by `prove` over `jobs_for(E)`) for an epoch E whose previous
    epoch is about when proving ends (they are submitted shortly before E; validators hold
    them until a package can land in E); (E, encoded, seconds per round of WORKERS proofs).
    Without `round_seconds` from an earlier batch, one round is proved first to measure
    it."""
    epoch_length = config.chain_spec().epoch_length
    now_epoch = _slot_at(config, time.time()) // epoch_length
    if round_seconds is None:
        # Calibrate: one proof per worker (discarded) gives the seconds per round of proofs.
        began = time.time()
        list(provers.map(prove, jobs_for(now_epoch + 1)[:WORKERS]))
        round_seconds = time.time() - began
    count = len(jobs_for(now_epoch + 1))
    rounds = math.ceil(count / WORKERS)
    for _attempt in range(3):
        # Aim with a margin (a loaded machine proves unevenly); waiting costs nothing.
        ready = time.time() + PROVING_MARGIN * rounds * round_seconds
        epoch = _slot_at(config, ready) // epoch_length + 1
        began = time.time()
        batch = list(provers.map(prove, jobs_for(epoch)))
        took = time.time() - began
        round_seconds = took / rounds
        now_slot = _slot_at(config, time.time())
        print(
            f"bench node: proved {count} transactions in {took:.0f} s for epoch {epoch} "
            f"(now slot {now_slot}, epoch {now_slot // epoch_length})",
            file=sys.stderr,
        )
        # Verify most of epoch E is still ahead for inclusion, else prove again, later.
        if now_slot < epoch * epoch_length + SUBMIT_SLACK:
            return epoch, batch, round_seconds
    raise RuntimeError("proving the batch kept overrunning its target epoch")


def _transfer_jobs(config: GenesisConfig) -> Callable[[int], list[tuple[Any, ...]]]:
    """For each deposited note: its owner, the note and its witness at one anchor, and the
    fee of a transfer; as proving jobs for a target epoch."""
    head = _status(config, 0)["head"]["height"]
    outputs: list[tuple[int, bytes]] = []
    positions: list[tuple[int, bool]] = []
    height = 0
    while height <= head:
        blocks = _rpc(config, 0, "pool_getCompactBlocks", {"from_height": height, "count": 50})
        if not blocks:
            break
        for block in blocks:
            for transaction in block["transactions"]:
                for output in transaction["outputs"]:
                    outputs.append(
                        (int(output["commitment"], 16), bytes.fromhex(output["ciphertext"]))
                    )
                    positions.append((int(output["position"]), bool(output["permanent"])))
        height = blocks[-1]["height"] + 1
    notes: list[tuple[int, Note, tuple[int, bool]]] = []
    for owner in range(DEPOSITS):
        key = _depositor(owner).incoming_viewing_key
        for index, found in trial_decrypt(key, outputs):
            if found.note.value == NOTE_VALUE:
                notes.append((owner, found.note, positions[index]))
    if len(notes) != TRANSFERS:
        raise RuntimeError(f"found {len(notes)} deposited notes, expected {TRANSFERS}")
    for _attempt in range(5):
        witnesses = [
            _rpc(config, 0, "pool_getWitness", {"position": p, "permanent": permanent})
            for _, _, (p, permanent) in notes
        ]
        if len({w["anchor"] for w in witnesses}) == 1:
            break
    else:
        raise RuntimeError("the anchor kept moving while fetching witnesses")
    anchor = _rpc(config, 0, "pool_getAnchor")
    if anchor["anchor"] != witnesses[0]["anchor"]:
        raise RuntimeError("the anchor moved after fetching witnesses")
    fee = int(_rpc(config, 0, "pool_quoteFee", {"kind": "transfer"})["fee"])
    collateral = int(anchor["collateral_per_note"])

    def jobs(epoch: int) -> list[tuple[Any, ...]]:
        return [
            (
                j,
                epoch,
                int(anchor["anchor"], 16),
                anchor["lifetime"],
                fee,
                collateral,
                owner,
                note,
                MembershipWitness(
                    w["position"],
                    tuple(int(x, 16) for x in w["siblings"]),
                    int(w["other_root"], 16),
                ),
            )
            for j, ((owner, note, _), w) in enumerate(zip(notes, witnesses, strict=True))
        ]

    return jobs


def _slot_at(config: GenesisConfig, moment: float) -> int:
    """The devnet's slot at the Unix time `moment`."""
    return int((moment - config.genesis_time) // config.slot_duration)


def _throughput(config: GenesisConfig, batch: list[bytes]) -> tuple[float, int, int]:
    """Submit `batch` INCLUSION_SLOTS slots before its epoch begins (validators hold a
    transaction until a package can land in its epoch, as for a wallet aiming at the epoch
    it lands in); (transactions final per second, counted from the start of their epoch
    (or the submission, if later) until the last of them was seen final; how many became
    final; in how many blocks they were accumulated)."""
    epoch_length = config.chain_spec().epoch_length
    epoch = Transaction.decode(batch[0]).epoch
    while _slot_at(config, time.time()) < epoch * epoch_length - INCLUSION_SLOTS:
        time.sleep(0.02)

    def submit(position: int) -> str | None:
        raw = batch[position]
        try:
            answer = _rpc(
                config, position % VALIDATORS, "pool_submitTransaction", {"transaction": raw.hex()}
            )
        except (OSError, RuntimeError) as error:
            print(f"node.tx_per_s: transaction {position} refused: {error}", file=sys.stderr)
            return None
        return str(answer["tx_id"])

    submitted = time.time()
    with ThreadPoolExecutor(VALIDATORS) as pool:
        pending = {tx_id for tx_id in pool.map(submit, range(len(batch))) if tx_id}
    started = max(submitted, config.genesis_time + epoch * epoch_length * config.slot_duration)
    final = 0
    heights = set()
    last_final = started
    seen_final = -1
    deadline = started + 2 * epoch_length * config.slot_duration
    while pending and time.time() < deadline:
        # Statuses are read only when validator 0's final block moves, and a transaction
        # counts as final at the moment that move was seen (not after the status calls).
        final_height = _status(config, 0)["finalized"]["height"]
        seen_at = time.time()
        if final_height > seen_final:
            seen_final = final_height
            for tx_id in list(pending):
                status = _rpc(config, 0, "pool_getTransactionStatus", {"tx_id": tx_id})
                if status.get("status") == "rejected":
                    print(f"node.tx_per_s: {tx_id[:16]} rejected: {status}", file=sys.stderr)
                    pending.discard(tx_id)
                elif status.get("final"):
                    pending.discard(tx_id)
                    final += 1
                    heights.add(status["height"])
                    last_final = seen_at
        time.sleep(0.02)
    if final == 0:
        raise RuntimeError("no transaction of the batch became final")
    return final / (last_final - started), final, len(heights)


# --- proving workers --------------------------------------------------------------------

_worker: dict[str, Any] = {}


def _load_keys(directory: str, vk_hash: str, chain_id: str) -> None:
    """Worker initializer: the devnet directory and its proving key."""
    _worker["directory"] = directory
    _worker["chain_id"] = bytes.fromhex(chain_id)
    _worker["keys"] = load_proving(Path(directory) / "circuit", vk_hash)


def _warm() -> None:
    """A no-op job: returns once the worker has loaded its keys."""
    assert "keys" in _worker


def _depositor(owner: int) -> SpendingKey:
    """The key deposit `owner`'s notes go to."""
    return SpendingKey.from_seed(blake2b_256(b"bench-node/recipient%d" % owner))


def _prove_deposit(job: tuple[Any, ...]) -> bytes:
    """A deposit of two collateral-tier (permanent) notes of NOTE_VALUE from a demo account
    to depositor `owner`'s key, proved for `epoch`: permanent, so proving the transfers
    that spend them may take longer than an ephemeral note lives."""
    owner, epoch, anchor, lifetime, collateral = job
    recipient = _depositor(owner)
    note = Payment(recipient.address, NOTE_VALUE, Tier.COLLATERAL)
    plan = TransactionPlan(
        chain_id=_worker["chain_id"],
        anchor=anchor,
        epoch=epoch,
        lifetime=lifetime,
        change_key=recipient,
        payments=(note, note),
        deposit_from=load_account_key(
            _worker["directory"], DEMO_ACCOUNTS[owner % len(DEMO_ACCOUNTS)]
        ),
        deposit_amount=2 * (NOTE_VALUE + collateral),
        collateral_per_note=collateral,
    )
    return build_transaction(_worker["keys"], plan).encode()


def _prove_transfer(job: tuple[Any, ...]) -> bytes:
    """A fee-paying transfer of one deposited note (and its released collateral) to a fresh
    key, proved for `epoch`."""
    number, epoch, anchor, lifetime, fee, collateral, owner, note, witness = job
    owner_key = _depositor(owner)
    payee = SpendingKey.from_seed(blake2b_256(b"bench-node/payee%d" % number))
    plan = TransactionPlan(
        chain_id=_worker["chain_id"],
        anchor=anchor,
        epoch=epoch,
        lifetime=lifetime,
        change_key=owner_key,
        spends=(SpendInput(note, owner_key.ask, owner_key.nk, witness),),
        payments=(Payment(payee.address, NOTE_VALUE + collateral - fee),),
        fee=fee,
        collateral_per_note=collateral,
    )
    keys: ProvingArtifacts = _worker["keys"]
    return build_transaction(keys, plan).encode()
