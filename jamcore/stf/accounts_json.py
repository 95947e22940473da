"""Service accounts in the w3f vectors' JSON form, to and from `ServiceAccount`.

The vectors give an account as `{"service": ServiceInfo, "storage": [{key, value}],
"preimage_blobs": [{hash, blob}], "preimage_requests": [{key: {hash, length}, value:
[slots]}]}` (accumulate.asn, preimages.asn; the preimages class omits `service` and
`storage`). `ServiceAccount` keeps every item under its 31-octet state key (eq. D.1-D.2):
storage under C(s, E_4(2^32-1) ++ k), blobs under C(s, E_4(2^32-2) ++ h) and requests under
C(s, E_4(l) ++ h) with the value E(↕[E_4(t)]).

Those keys hash the raw key away, so `account_to_json` must be told which raw keys to look
for: the raw storage keys and (hash, length) request keys known from the vector (typically
those of its pre-state, plus those of the expected post-state for keys the transition
created; `known_keys` collects them from account JSON). A preimage blob is found without
help, its key being that of its own hash (or of a known request's hash); a request for
(H(blob), |blob|) likewise. An entry matching none of these raises `UnknownStateKeyError`.

An account with no `service` record (the preimages class) gets `info = None`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jamcore.codec import CodecError
from jamcore.crypto.hashing import blake2b_256
from jamcore.state.keys import preimage_key, request_key, storage_key
from jamcore.types.services import (
    SERVICE_INFO,
    ServiceAccount,
    decode_request_status,
    encode_request_status,
)

Json = Any


class UnknownStateKeyError(ValueError):
    """An account entry whose state key matches no raw key given to `account_to_json`."""


def _hex(data: Json) -> bytes:
    if not isinstance(data, str):
        raise CodecError(f"expected a hex string, got {type(data).__name__}")
    return bytes.fromhex(data[2:] if data.startswith("0x") else data)


def account_from_json(service_id: int, data: Json) -> ServiceAccount:
    """The `ServiceAccount` of a vector account JSON object, its storage, blobs and requests
    keyed by their state keys (eq. D.2); `info` is None when the JSON has no `service`."""
    info = SERVICE_INFO.from_json(data["service"]) if "service" in data else None
    entries: dict[bytes, bytes] = {}
    for item in data.get("storage", ()):
        entries[storage_key(service_id, _hex(item["key"]))] = _hex(item["value"])
    for item in data.get("preimage_blobs", ()):
        entries[preimage_key(service_id, _hex(item["hash"]))] = _hex(item["blob"])
    for item in data.get("preimage_requests", ()):
        key = item["key"]
        state_key = request_key(service_id, _hex(key["hash"]), key["length"])
        entries[state_key] = encode_request_status(tuple(item["value"]))
    return ServiceAccount(info=info, entries=entries)


def known_keys(data: Json) -> tuple[set[bytes], set[tuple[bytes, int]]]:
    """The raw storage keys and the (hash, length) request keys named in a vector account
    JSON object, to give `account_to_json`."""
    storage = {_hex(item["key"]) for item in data.get("storage", ())}
    requests = {
        (_hex(item["key"]["hash"]), item["key"]["length"])
        for item in data.get("preimage_requests", ())
    }
    return storage, requests


def account_to_json(
    service_id: int,
    account: ServiceAccount,
    raw_storage_keys: Iterable[bytes],
    request_keys: Iterable[tuple[bytes, int]] = (),
    *,
    with_storage: bool | None = None,
) -> Json:
    """The vector JSON of `account` (inverse of `account_from_json`).

    Raw keys are not recoverable from state keys (eq. D.1), so `raw_storage_keys` and
    `request_keys` name the storage keys and (hash, length) requests to look for; blobs and
    the requests for them are found from the blobs' own hashes. Lists are ordered by raw
    key, hash, and (hash, E_4(length)). `storage` is written when `with_storage` is true,
    or (by default) when the account has a `service` record, as in the accumulate class.
    Raises `UnknownStateKeyError` for an entry no given key explains.
    """
    remaining = dict(account.entries)

    blobs: list[tuple[bytes, bytes]] = []
    candidates = set(request_keys)
    for key, value in list(remaining.items()):
        blob_hash = blake2b_256(value)
        if preimage_key(service_id, blob_hash) == key:
            blobs.append((blob_hash, value))
            candidates.add((blob_hash, len(value)))
            del remaining[key]
    # A blob filed under a hash other than its own is found through a known request.
    for blob_hash in {request_hash for request_hash, _ in candidates}:
        value = remaining.pop(preimage_key(service_id, blob_hash), None)
        if value is not None:
            blobs.append((blob_hash, value))

    requests: list[tuple[bytes, int, tuple[int, ...]]] = []
    for blob_hash, length in candidates:
        value = remaining.pop(request_key(service_id, blob_hash, length), None)
        if value is not None:
            requests.append((blob_hash, length, decode_request_status(value)))

    storage: list[tuple[bytes, bytes]] = []
    for raw in set(raw_storage_keys):
        value = remaining.pop(storage_key(service_id, raw), None)
        if value is not None:
            storage.append((raw, value))

    # Verify every entry was explained by a known raw key.
    if remaining:
        unknown = ", ".join("0x" + key.hex() for key in sorted(remaining))
        raise UnknownStateKeyError(f"service {service_id}: no raw key for state keys {unknown}")

    result: dict[str, Json] = {}
    if account.info is not None:
        result["service"] = SERVICE_INFO.to_json(account.info)
    if with_storage or (with_storage is None and account.info is not None):
        result["storage"] = [
            {"key": "0x" + raw.hex(), "value": "0x" + value.hex()} for raw, value in sorted(storage)
        ]
    result["preimage_blobs"] = [
        {"hash": "0x" + blob_hash.hex(), "blob": "0x" + blob.hex()}
        for blob_hash, blob in sorted(blobs)
    ]
    requests.sort(key=lambda request: request[0] + request[1].to_bytes(4, "little"))
    result["preimage_requests"] = [
        {"key": {"hash": "0x" + blob_hash.hex(), "length": length}, "value": list(slots)}
        for blob_hash, length, slots in requests
    ]
    return result


def accounts_from_json(data: Json) -> dict[int, ServiceAccount]:
    """The accounts of a vector state's `accounts` list (`[{id, data}]`)."""
    return {item["id"]: account_from_json(item["id"], item["data"]) for item in data}


def accounts_to_json(
    accounts: dict[int, ServiceAccount],
    raw_storage_keys: dict[int, Iterable[bytes]] | None = None,
    request_keys: dict[int, Iterable[tuple[bytes, int]]] | None = None,
) -> Json:
    """A vector state's `accounts` list, ordered by service id; the raw keys per service
    as for `account_to_json`."""
    raw_storage_keys = raw_storage_keys or {}
    request_keys = request_keys or {}
    return [
        {
            "id": service,
            "data": account_to_json(
                service,
                accounts[service],
                raw_storage_keys.get(service, ()),
                request_keys.get(service, ()),
            ),
        }
        for service in sorted(accounts)
    ]
