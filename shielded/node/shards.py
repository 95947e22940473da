"""A validator's availability shards on disk, and the assurance it signs for them.

Each validator keeps, for every work package reported on a core, the shard that the
guarantor sent it (`jamcore.work.availability.ValidatorShard`: its bundle shard, its
segment shards and the justification of both under the report's erasure root), keyed by
(erasure root, validator index). A shard is verified against the erasure root before it is
stored, so the store only ever holds data that helps reconstruct the package. Shards of a
report that timed out (graypaper eq. 11.17: H_t >= report slot + U) are pruned.

Holding its shard for a core's pending report is what lets a validator set that core's
bit in its assurance (section 11.2, eq. 11.10-11.13); `make_assurance` signs
X_A ++ H(E(parent, bitfield)) with its ed25519 key.

The store follows the chain store's SQLite conventions (`shielded.sqlite`): WAL, every
write one all-or-nothing transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

from nacl.signing import SigningKey

from jamcore.codec import CodecError
from jamcore.spec import ChainSpec
from jamcore.stf.assurances import assurance_message
from jamcore.work.availability import VALIDATOR_SHARD, ValidatorShard, verify_shard
from jamcore.work.guarantee import AvailAssurance
from shielded.sqlite import open_database, transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS shards (
    erasure_root BLOB NOT NULL,
    shard_index INTEGER NOT NULL,
    report_slot INTEGER NOT NULL,
    shard BLOB NOT NULL,
    PRIMARY KEY (erasure_root, shard_index)
);
CREATE INDEX IF NOT EXISTS shards_by_slot ON shards(report_slot);
"""


class ShardStoreError(ValueError):
    """A shard, erasure root, slot or core the store refuses, or a corrupt stored shard."""


def _check_root(erasure_root: object) -> bytes:
    if not (isinstance(erasure_root, bytes) and len(erasure_root) == 32):
        raise ShardStoreError(f"erasure root must be 32 octets, got {erasure_root!r}")
    return erasure_root


def _check_natural(value: object, what: str, below: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ShardStoreError(f"{what} must be a non-negative int, got {value!r}")
    if below is not None and value >= below:
        raise ShardStoreError(f"{what} {value} out of range 0..{below - 1}")
    return value


class ShardStore:
    """SQLite-backed availability shards by (erasure root, validator index)."""

    def __init__(self, path: Path | str, spec: ChainSpec) -> None:
        self.path = Path(path)
        self.spec = spec
        self.db = open_database(self.path, SCHEMA)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> ShardStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _checked(self, erasure_root: bytes, shard: ValidatorShard) -> bytes:
        """The shard's encoding, once it verifies against the erasure root."""
        if not isinstance(shard, ValidatorShard):
            raise ShardStoreError(f"expected a ValidatorShard, got {type(shard).__name__}")
        index = _check_natural(shard.index, "shard index", self.spec.validators_count)
        if not verify_shard(erasure_root, index, shard, shard.justification, self.spec):
            raise ShardStoreError(
                f"shard {index} does not verify against erasure root 0x{erasure_root.hex()}"
            )
        try:
            return VALIDATOR_SHARD.encode(shard)
        except CodecError as error:
            raise ShardStoreError(f"shard {index} cannot be encoded: {error}") from error

    def put(self, erasure_root: bytes, shard: ValidatorShard, report_slot: int) -> None:
        """Store a verified shard of the package reported at `report_slot`."""
        self.put_many(erasure_root, [shard], report_slot)

    def put_many(
        self, erasure_root: bytes, shards: Iterable[ValidatorShard], report_slot: int
    ) -> None:
        """Store several shards of one package, all or none (each verified first). A shard
        already held keeps its data; its report slot becomes the later of the two."""
        root = _check_root(erasure_root)
        slot = _check_natural(report_slot, "report slot")
        encoded = [(self._checked(root, shard), shard.index) for shard in shards]
        rows = [(root, index, slot, data) for data, index in encoded]
        with transaction(self.db) as db:
            db.executemany(
                "INSERT INTO shards(erasure_root, shard_index, report_slot, shard) "
                "VALUES(?, ?, ?, ?) ON CONFLICT(erasure_root, shard_index) "
                "DO UPDATE SET report_slot = MAX(report_slot, excluded.report_slot)",
                rows,
            )

    def get(self, erasure_root: bytes, index: int) -> ValidatorShard | None:
        """The shard of validator `index` under `erasure_root`, if held."""
        root = _check_root(erasure_root)
        _check_natural(index, "shard index", self.spec.validators_count)
        row = self.db.execute(
            "SELECT shard FROM shards WHERE erasure_root = ? AND shard_index = ?", (root, index)
        ).fetchone()
        if row is None:
            return None
        try:
            shard = VALIDATOR_SHARD.decode(bytes(row[0]))
        except CodecError as error:
            raise ShardStoreError(f"stored shard {index} is corrupt: {error}") from error
        if shard.index != index:
            raise ShardStoreError(f"stored shard {index} claims index {shard.index}")
        return shard

    def has(self, erasure_root: bytes, index: int) -> bool:
        """Whether the shard of validator `index` under `erasure_root` is held."""
        row = self.db.execute(
            "SELECT 1 FROM shards WHERE erasure_root = ? AND shard_index = ?",
            (_check_root(erasure_root), index),
        ).fetchone()
        return row is not None

    def indices(self, erasure_root: bytes) -> list[int]:
        """The validator indices whose shards under `erasure_root` are held, ascending."""
        rows = self.db.execute(
            "SELECT shard_index FROM shards WHERE erasure_root = ? ORDER BY shard_index",
            (_check_root(erasure_root),),
        ).fetchall()
        return [int(row[0]) for row in rows]

    def held_cores(self, pending_roots: Sequence[bytes | None], index: int) -> list[int]:
        """The cores whose pending report's erasure root (None: no report) has validator
        `index`'s shard here: the cores it may assure (eq. 11.15)."""
        return [
            core
            for core, root in enumerate(pending_roots)
            if root is not None and self.has(root, index)
        ]

    def prune(self, slot: int, keep: Collection[bytes] = ()) -> int:
        """Drop the shards of reports that timed out by `slot` (report slot + U <= slot,
        eq. 11.17), except those under the erasure roots in `keep` (e.g. reports that
        became available and are still being audited); returns how many were dropped."""
        limit = _check_natural(slot, "slot") - self.spec.assurance_timeout_period
        kept = [_check_root(root) for root in keep]
        marks = ", ".join("?" * len(kept))
        clause = f" AND erasure_root NOT IN ({marks})" if kept else ""
        with transaction(self.db) as db:
            cursor = db.execute(
                f"DELETE FROM shards WHERE report_slot <= ?{clause}", (limit, *kept)
            )
        return int(cursor.rowcount)


def make_assurance(
    parent: bytes,
    available_cores: Iterable[int],
    validator_index: int,
    signing_key: SigningKey,
    spec: ChainSpec,
) -> AvailAssurance:
    """Validator `validator_index`'s assurance, anchored on `parent`, that it holds its
    shards for `available_cores`: bit c mod 8 of octet c div 8 of a_f is set for each
    (eq. 11.10, C.9), and the signature is ed25519 over X_A ++ H(E(parent, a_f)) (eq. 11.13)."""
    if not (isinstance(parent, bytes) and len(parent) == 32):
        raise ShardStoreError(f"parent must be a 32-octet hash, got {parent!r}")
    _check_natural(validator_index, "validator index", spec.validators_count)
    if not isinstance(signing_key, SigningKey):
        raise ShardStoreError(f"expected an ed25519 SigningKey, got {type(signing_key).__name__}")
    bitfield = bytearray(spec.avail_bitfield_bytes)
    for core in available_cores:
        _check_natural(core, "core", spec.cores_count)
        bitfield[core // 8] |= 1 << (core % 8)
    signature = signing_key.sign(assurance_message(parent, bytes(bitfield))).signature
    return AvailAssurance(parent, bytes(bitfield), validator_index, signature)
