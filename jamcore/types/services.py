"""delta: service accounts (graypaper section 9) as the merklized state holds them.

`ServiceInfo` is the account record at C(255, s) (eq. D.2; 0.7.2 prefixes it with a version
octet, 0). Everything else of an account (storage, preimage blobs, preimage requests) lives
under keys C(s, h) whose discriminator is hashed into the key (eq. D.1), so the raw storage
keys cannot be recovered from the state: `ServiceAccount.entries` keeps each item by its
31-octet state key (`jamcore.state.keys.storage_key`, `preimage_key`, `request_key`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from jamcore.codec import HASH, U8, U32, U64, Struct, seq


@dataclass(frozen=True)
class ServiceInfo:
    """A service account's record (eq. 9.3, D.2 C(255, s))."""

    version: int
    """The record's version octet (0 in graypaper 0.7.2)."""
    code_hash: bytes
    """a_c: hash of the service's code."""
    balance: int
    """a_b: balance."""
    min_item_gas: int
    """a_g: least gas to accumulate one work item."""
    min_memo_gas: int
    """a_m: least gas to process one deferred transfer."""
    bytes: int
    """a_o: octets in the storage footprint (eq. 9.8)."""
    deposit_offset: int
    """a_f: the gratis storage offset."""
    items: int
    """a_i: items in the storage footprint (eq. 9.8)."""
    creation_slot: int
    """a_r: the slot the service was created."""
    last_accumulation_slot: int
    """a_a: the slot of its most recent accumulation."""
    parent_service: int
    """a_p: the service that created it."""


SERVICE_INFO = Struct(
    ServiceInfo,
    {
        "version": U8,
        "code_hash": HASH,
        "balance": U64,
        "min_item_gas": U64,
        "min_memo_gas": U64,
        "bytes": U64,
        "deposit_offset": U64,
        "items": U32,
        "creation_slot": U32,
        "last_accumulation_slot": U32,
        "parent_service": U32,
    },
)
"""C(255, s): E(0, a_c, E_8(a_b, a_g, a_m, a_o, a_f), E_4(a_i, a_r, a_a, a_p)) (eq. D.2)."""


@dataclass(frozen=True)
class ServiceAccount:
    """One service account: its record and its keyed items (eq. 9.3)."""

    info: ServiceInfo | None
    """The account record; None only where a test vector's state omits it (stf/preimages)."""
    entries: Mapping[bytes, bytes]
    """State key (31 octets, eq. D.1) -> value, for storage items, preimage blobs and
    preimage requests (request values are E(↕[E_4(t)]), eq. D.2)."""


REQUEST_STATUS = seq(U32, max_length=3)
"""The value at C(s, E_4(l) ++ h): a preimage request's status, E(↕[E_4(x) | x <- t]) with
at most three slots (eq. 9.7, D.2)."""


def encode_request_status(slots: Sequence[int]) -> bytes:
    """E(↕[E_4(x) | x <- t]): a preimage request's value in the state (eq. 9.7, D.2); the
    empty request [] is the single octet 0."""
    return REQUEST_STATUS.encode(tuple(slots))


def decode_request_status(value: bytes) -> tuple[int, ...]:
    """The slots t of a request value (inverse of `encode_request_status`); a CodecError
    if `value` is not E(↕[E_4(x)]) of at most three slots."""
    return REQUEST_STATUS.decode(value)
