"""The wallet's scanner: follows the node's compact blocks, finds its notes and spends, and
survives reorgs (design section 6).

For each canonical block after the stored tip, the scanner trial-decrypts every output with
each account's incoming viewing key (in parallel across cores when a batch is large),
computes the nullifier of each note it finds (nf = Poseidon(nk, cm, position)) so it can
recognise its spends, and records the block's results together with the block's hash in
one SQLite transaction. When a block's parent is not the stored tip, the chain reorganised:
the scanner walks back to the highest height where the node's canonical hash equals the
stored one (the fork point), rolls everything above it back, and scans forward again. A
wallet killed mid-scan resumes from the last block it recorded.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from shielded.notes.encryption import CIPHERTEXT_BYTES, DecryptedNote, trial_decrypt
from shielded.notes.keys import IncomingViewingKey, SpendingKey
from shielded.notes.note import Note, Tier
from shielded.notes.poseidon import FIELD_MODULUS
from shielded.nullifiers.derive import derive_nullifier
from wallet.rpc import NodeClient
from wallet.store import HistoryEntry, OwnedNote, ScannedBlock, WalletStore

BATCH_BLOCKS = 100
PARALLEL_THRESHOLD = 512
"""Outputs in one batch above which trial decryption fans out to worker processes."""


class ScanError(Exception):
    """The node's chain cannot be reconciled with the wallet's (e.g. another chain)."""


@dataclass(frozen=True)
class SyncProgress:
    """Where a sync stands: scanned height, node head and final heights."""

    scanned: int
    head: int
    finalized: int
    reorgs: int = 0

    @property
    def fraction(self) -> float:
        return 1.0 if self.head <= 0 else min(1.0, max(0, self.scanned) / self.head)


def encode_note(note: Note) -> bytes:
    """The wallet's storage form of a note (everything needed to spend it again)."""
    return json.dumps(
        {
            "value": note.value,
            "pk": hex(note.pk),
            "blinding": hex(note.blinding),
            "expiry_epoch": note.expiry_epoch,
            "tier": int(note.tier),
        }
    ).encode()


def decode_note(data: bytes) -> Note:
    fields = json.loads(data)
    return Note(
        int(fields["value"]),
        int(fields["pk"], 16),
        int(fields["blinding"], 16),
        int(fields["expiry_epoch"]),
        Tier(int(fields["tier"])),
    )


def _decrypt_chunk(
    key: IncomingViewingKey, outputs: list[tuple[int, bytes]], offset: int
) -> list[tuple[int, DecryptedNote]]:
    return [(offset + index, found) for index, found in trial_decrypt(key, outputs)]


def decrypt_outputs(
    key: IncomingViewingKey,
    outputs: Sequence[tuple[int, bytes]],
    pool: ProcessPoolExecutor | None = None,
) -> list[tuple[int, DecryptedNote]]:
    """Trial-decrypt (cm, ciphertext) outputs; returns (index, note) for those addressed to
    `key`. Uses `pool` (one chunk per worker) for large batches."""
    if pool is None or len(outputs) < PARALLEL_THRESHOLD:
        return _decrypt_chunk(key, list(outputs), 0)
    workers = max(1, getattr(pool, "_max_workers", os.cpu_count() or 1))
    size = -(-len(outputs) // workers)
    futures = [
        pool.submit(_decrypt_chunk, key, list(outputs[start : start + size]), start)
        for start in range(0, len(outputs), size)
    ]
    found: list[tuple[int, DecryptedNote]] = []
    for future in futures:
        found.extend(future.result())
    return found


class Scanner:
    """Syncs a `WalletStore` with a node for a set of accounts."""

    def __init__(
        self,
        client: NodeClient,
        store: WalletStore,
        accounts: Sequence[tuple[int, SpendingKey]],
        parallel: bool = True,
    ) -> None:
        self.client = client
        self.store = store
        self.accounts = list(accounts)
        self.parallel = parallel and (os.cpu_count() or 1) > 1
        self.reorgs = 0

    def sync(
        self,
        progress: Callable[[SyncProgress], None] | None = None,
        max_blocks: int | None = None,
    ) -> SyncProgress:
        """Scan up to the node's head (or `max_blocks` blocks); returns the final progress."""
        status = self.client.status()
        head, finalized = status["head"]["height"], status["finalized"]["height"]
        scanned = 0
        pool = ProcessPoolExecutor() if self.parallel else None
        try:
            while max_blocks is None or scanned < max_blocks:
                tip = self.store.tip()
                start = 0 if tip is None else tip.height + 1
                count = BATCH_BLOCKS
                if max_blocks is not None:
                    count = min(BATCH_BLOCKS, max_blocks - scanned)
                blocks = checked_blocks(self.client.compact_blocks(start, count), start)
                if not blocks:
                    # Nothing above the tip: the tip itself may have left the canonical chain
                    # (a switch to a branch no longer than ours), which no parent link shows.
                    if tip is not None and self.client.canonical_hash(tip.height) != tip.hash:
                        self._reorganize(tip.height)
                        continue
                    break
                if tip is not None and _hash(blocks[0]["parent"]) != tip.hash:
                    self._reorganize(tip.height)
                    continue
                scanned += self._scan(blocks, pool)
                head = max(head, blocks[-1]["height"])
                if progress is not None:
                    progress(self._progress(head, finalized))
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        return self._progress(head, finalized)

    def _progress(self, head: int, finalized: int) -> SyncProgress:
        tip = self.store.tip()
        return SyncProgress(-1 if tip is None else tip.height, head, finalized, self.reorgs)

    def _reorganize(self, tip_height: int) -> None:
        """Roll back to the fork point: the highest height whose stored hash is canonical."""
        height = tip_height
        while height >= 0:
            stored = self.store.block_at(height)
            canonical = self.client.canonical_hash(height)
            if stored is not None and canonical == stored.hash:
                break
            height -= 1
        if height < 0:
            raise ScanError("the node's chain shares no block with this wallet's (another chain?)")
        self.store.roll_back_to(height)
        self.reorgs += 1

    def _scan(self, blocks: list[dict[str, Any]], pool: ProcessPoolExecutor | None) -> int:
        """Decrypt a batch of blocks' outputs, then record each block in order."""
        outputs: list[tuple[int, bytes]] = []
        where: list[tuple[int, int, int]] = []  # (block index, transaction index, output)
        for b, block in enumerate(blocks):
            for t, transaction in enumerate(block["transactions"]):
                for o, output in enumerate(transaction["outputs"]):
                    outputs.append(
                        (int(output["commitment"], 16), bytes.fromhex(output["ciphertext"]))
                    )
                    where.append((b, t, o))
        found: dict[tuple[int, int, int], tuple[int, DecryptedNote]] = {}
        for account, key in self.accounts:
            for index, note in decrypt_outputs(key.incoming_viewing_key, outputs, pool):
                found[where[index]] = (account, note)
        tip = self.store.tip()
        for b, block in enumerate(blocks):
            scanned = ScannedBlock(
                block["height"],
                _hash(block["hash"]),
                _hash(block["parent"]),
                block["slot"],
                block["epoch"],
            )
            if tip is not None and scanned.parent != tip.hash:
                return b  # the batch crossed a reorg on the node; the next sync call handles it
            self._record(block, b, scanned, found)
            tip = scanned
        return len(blocks)

    def _record(
        self,
        block: dict[str, Any],
        b: int,
        scanned: ScannedBlock,
        found: dict[tuple[int, int, int], tuple[int, DecryptedNote]],
    ) -> None:
        keys = dict(self.accounts)
        received: list[OwnedNote] = []
        spent: list[bytes] = []
        history: list[HistoryEntry] = []
        for t, transaction in enumerate(block["transactions"]):
            mine_in: dict[int, int] = {}
            for nullifier_hex in transaction["nullifiers"]:
                nullifier = _field_bytes(int(nullifier_hex, 16))
                owned = self.store.note_by_nullifier(nullifier)
                if owned is not None and owned.spent_height is None:
                    spent.append(nullifier)
                    mine_in[owned.account] = mine_in.get(owned.account, 0) + owned.value
            mine_out: dict[int, int] = {}
            for o, output in enumerate(transaction["outputs"]):
                hit = found.get((b, t, o))
                if hit is None:
                    continue
                account, decrypted = hit
                note = decrypted.note
                if note.value == 0:
                    continue  # a padding output: worthless, never worth spending
                nk = keys[account].nk
                position = int(output["position"])
                received.append(
                    OwnedNote(
                        commitment=_field_bytes(note.commitment),
                        account=account,
                        value=note.value,
                        expiry_epoch=note.expiry_epoch,
                        permanent=bool(output["permanent"]),
                        position=position,
                        nullifier=_field_bytes(derive_nullifier(nk, note.commitment, position)),
                        note=encode_note(note),
                        memo=decrypted.memo,
                        received_height=scanned.height,
                    )
                )
                mine_out[account] = mine_out.get(account, 0) + note.value
            for account in sorted(set(mine_in) | set(mine_out)):
                history.append(_history_entry(transaction, account, mine_in, mine_out, scanned))
        self.store.record_block(scanned, received, spent, history)


def _history_entry(
    transaction: dict[str, Any],
    account: int,
    mine_in: dict[int, int],
    mine_out: dict[int, int],
    block: ScannedBlock,
) -> HistoryEntry:
    spent_value, received_value = mine_in.get(account, 0), mine_out.get(account, 0)
    kind = transaction["kind"]
    if kind == "deposit" and not spent_value:
        label, amount = "deposit", received_value
    elif kind == "withdrawal" and spent_value:
        label, amount = "withdrawal", spent_value - received_value - transaction["fee"]
    elif spent_value and received_value >= spent_value - transaction["fee"]:
        label, amount = "renewal", received_value
    elif spent_value:
        label, amount = "sent", spent_value - received_value - transaction["fee"]
    else:
        label, amount = "received", received_value
    return HistoryEntry(
        block.height,
        account,
        label,
        amount,
        transaction["fee"] if spent_value or kind == "deposit" else 0,
        bytes.fromhex(transaction["tx_id"]),
    )


def checked_blocks(blocks: Any, start: int) -> list[dict[str, Any]]:
    """The node's answer to pool_getCompactBlocks from `start`, checked for every field the
    scanner reads (consecutive heights, 32-byte hashes, field elements, ciphertext sizes);
    ScanError names the first thing wrong, before anything is recorded."""
    _expect(isinstance(blocks, list), "the compact block list", "a JSON array", blocks)
    for offset, block in enumerate(blocks):
        where = f"compact block {start + offset}"
        _expect(isinstance(block, dict), where, "a JSON object", block)
        _expect(
            block.get("height") == start + offset,
            f"{where} height",
            start + offset,
            block.get("height"),
        )
        for name in ("hash", "parent"):
            _expect(
                _is_hex(block.get(name), 32, prefixed=True),
                f"{where} {name}",
                "0x + 64 hex digits",
                block.get(name),
            )
        for name in ("slot", "epoch"):
            _expect(
                _is_natural(block.get(name)), f"{where} {name}", "a natural number", block.get(name)
            )
        transactions = block.get("transactions")
        _expect(
            isinstance(transactions, list), f"{where} transactions", "a JSON array", transactions
        )
        for t, transaction in enumerate(transactions):
            here = f"{where} transaction {t}"
            _expect(isinstance(transaction, dict), here, "a JSON object", transaction)
            _expect(
                isinstance(transaction.get("kind"), str),
                f"{here} kind",
                "a string",
                transaction.get("kind"),
            )
            _expect(
                _is_natural(transaction.get("fee")),
                f"{here} fee",
                "a natural number",
                transaction.get("fee"),
            )
            _expect(
                _is_hex(transaction.get("tx_id"), 32),
                f"{here} tx_id",
                "64 hex digits",
                transaction.get("tx_id"),
            )
            nullifiers, outputs = transaction.get("nullifiers"), transaction.get("outputs")
            _expect(isinstance(nullifiers, list), f"{here} nullifiers", "a JSON array", nullifiers)
            _expect(isinstance(outputs, list), f"{here} outputs", "a JSON array", outputs)
            for nullifier in nullifiers:
                _expect(_is_field(nullifier), f"{here} nullifier", "a hex field element", nullifier)
            for o, output in enumerate(outputs):
                there = f"{here} output {o}"
                _expect(isinstance(output, dict), there, "a JSON object", output)
                _expect(
                    _is_field(output.get("commitment")),
                    f"{there} commitment",
                    "a hex field element",
                    output.get("commitment"),
                )
                _expect(
                    _is_natural(output.get("position")),
                    f"{there} position",
                    "a natural number",
                    output.get("position"),
                )
                _expect(
                    isinstance(output.get("permanent"), bool),
                    f"{there} permanent",
                    "true or false",
                    output.get("permanent"),
                )
                _expect(
                    _is_hex(output.get("ciphertext"), CIPHERTEXT_BYTES),
                    f"{there} ciphertext",
                    f"{CIPHERTEXT_BYTES} bytes of hex",
                    output.get("ciphertext"),
                )
    return blocks


def _expect(condition: bool, what: str, expected: object, got: object) -> None:
    if not condition:
        shown = repr(got)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise ScanError(f"the node sent a malformed {what}: expected {expected}, got {shown}")


def _is_natural(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_hex(value: object, size: int, prefixed: bool = False) -> bool:
    if not isinstance(value, str) or (prefixed and not value.startswith("0x")):
        return False
    digits = value.removeprefix("0x")
    if len(digits) != 2 * size:
        return False
    try:
        bytes.fromhex(digits)
    except ValueError:
        return False
    return True


def _is_field(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return 0 <= int(value, 16) < FIELD_MODULUS
    except ValueError:
        return False


def _hash(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))


def _field_bytes(value: int) -> bytes:
    return value.to_bytes(32, "big")
