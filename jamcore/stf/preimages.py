"""Preimage integration (graypaper v0.7.2 section 12.4, eq. 12.35-12.38, with I and Y of
eq. 12.21-12.22).

The preimages extrinsic E_P is a sequence of (requester, blob) pairs, ordered and without
duplicates (eq. 12.36); each blob must be solicited by its requester in the prior state:
the request (H(blob), |blob|) exists and is still empty (Y, eq. 12.22, required of every
pair by eq. 12.37). Integration (I, eq. 12.21; applied to the post-accumulation accounts
by eq. 12.38) stores the blob under its hash and sets the request to [tau'].

Accounts are read and written through their D.1 state keys (`ServiceAccount.entries`): the
blob at `preimage_key(s, H(i))`, the request status at `request_key(s, H(i), |i|)` with the
value E(↕[E_4(t)]), so the empty request [] is the single octet 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from jamcore.block import Preimage
from jamcore.crypto.hashing import blake2b_256
from jamcore.errors import JamError, ensure
from jamcore.spec import ChainSpec
from jamcore.state.keys import preimage_key, request_key
from jamcore.state.overlay import with_changes
from jamcore.stf.statistics.services import with_provisions
from jamcore.types.services import ServiceAccount, encode_request_status
from jamcore.types.statistics import ServiceActivityRecord

EMPTY_REQUEST = encode_request_status(())
"""E(↕[]) = 0: the value of a request solicited but not yet provided (eq. D.2)."""


class PreimageUnneeded(JamError):
    """A provided preimage is not solicited by its requester (eq. 12.37)."""

    code = "preimage_unneeded"


class PreimagesNotSortedUnique(JamError):
    """E_P is not ordered by (requester, blob) or repeats a pair (eq. 12.36)."""

    code = "preimages_not_sorted_unique"


@dataclass(frozen=True)
class PreimagesState:
    """The w3f `stf/preimages` state: delta (the accounts' preimage blobs and requests;
    the vectors give no service records, so `info` may be None) and pi_S."""

    accounts: Mapping[int, ServiceAccount]
    statistics: Mapping[int, ServiceActivityRecord]


@dataclass(frozen=True)
class PreimagesInput:
    """The w3f `stf/preimages` input: E_P and H_t (= tau')."""

    preimages: tuple[Preimage, ...]
    slot: int


def providable(
    accounts: Mapping[int, ServiceAccount],
    service: int,
    blob: bytes,
    blob_hash: bytes | None = None,
) -> bool:
    """Y(d, s, i) (eq. 12.22): s is in d and d[s]_l[(H(i), |i|)] = [] (a request exists and
    is empty). `blob_hash` is H(i) when the caller already has it."""
    account = accounts.get(service)
    if account is None:
        return False
    digest = blake2b_256(blob) if blob_hash is None else blob_hash
    return account.entries.get(request_key(service, digest, len(blob))) == EMPTY_REQUEST


def provide(
    accounts: Mapping[int, ServiceAccount],
    provisions: Iterable[tuple[int, bytes]],
    slot: int,
) -> dict[int, ServiceAccount]:
    """I(d, p) (eq. 12.21): d except, for each (s, i) in p with Y(d, s, i),
    d'[s]_l[(H(i), |i|)] = [tau'] and d'[s]_p[H(i)] = i. Provisions that are not (or no
    longer) providable are disregarded; p is a set, so repeats change nothing."""
    updates: dict[int, dict[bytes, bytes]] = {}
    for service, blob in provisions:
        digest = blake2b_256(blob)
        # Y is judged against d, the state before any of these provisions.
        if providable(accounts, service, blob, digest):
            entries = updates.setdefault(service, {})
            entries[request_key(service, digest, len(blob))] = encode_request_status((slot,))
            entries[preimage_key(service, digest)] = blob
    if not updates:
        return dict(accounts)
    result = dict(accounts)
    for service, entries in updates.items():
        account = result[service]
        result[service] = replace(account, entries=with_changes(account.entries, entries))
    return result


def check_preimages(accounts: Mapping[int, ServiceAccount], preimages: Sequence[Preimage]) -> None:
    """eq. 12.36-12.37: E_P is ordered by (requester, blob) without duplicates, and every
    pair is providable in the prior accounts (Y(delta, s, i))."""
    # Verify E_P = [i ^ i <- E_P]: strictly increasing (requester, blob).
    for previous, current in zip(preimages, preimages[1:], strict=False):
        ensure(
            (previous.requester, previous.blob) < (current.requester, current.blob),
            PreimagesNotSortedUnique(
                f"preimage of service {current.requester} out of order or repeated"
            ),
        )
    # Verify every provided preimage is solicited and not yet provided.
    for preimage in preimages:
        ensure(
            providable(accounts, preimage.requester, preimage.blob),
            PreimageUnneeded(f"preimage for service {preimage.requester} is not solicited"),
        )


def transition(
    pre: PreimagesState, inputs: PreimagesInput, spec: ChainSpec
) -> tuple[PreimagesState, None]:
    """delta' = I(delta, E_P) after checking E_P against delta (eq. 12.35-12.38), with the
    provision statistics of pi_S' (eq. 13.12, 13.15) for the services provided to.

    The vector class has no accumulation, so delta-double-dagger is delta itself."""
    check_preimages(pre.accounts, inputs.preimages)
    accounts = provide(
        pre.accounts,
        ((preimage.requester, preimage.blob) for preimage in inputs.preimages),
        inputs.slot,
    )
    statistics = with_provisions(pre.statistics, inputs.preimages)
    return PreimagesState(accounts=accounts, statistics=statistics), None
