"""Preimage integration (graypaper v0.7.2 section 12.4) against the w3f `stf/preimages`
vectors, and the account JSON conversion (`jamcore.stf.accounts_json`) it relies on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jamcore.block import Preimage, block_codecs
from jamcore.crypto.hashing import blake2b_256
from jamcore.errors import JamError
from jamcore.spec import TINY, ChainSpec
from jamcore.state.keys import preimage_key, request_key
from jamcore.stf.accounts_json import (
    UnknownStateKeyError,
    account_from_json,
    account_to_json,
    accounts_from_json,
    accounts_to_json,
    decode_request_status,
    encode_request_status,
    known_keys,
)
from jamcore.stf.preimages import (
    PreimagesInput,
    PreimagesNotSortedUnique,
    PreimagesState,
    check_preimages,
    provide,
    transition,
)
from jamcore.types.services import ServiceAccount
from jamcore.types.statistics import SERVICES_STATISTICS
from tests.jamcore.stf.checks import spec_of
from tests.vectors import vector_params


def state_from_json(data: dict[str, Any]) -> PreimagesState:
    """A `PreimagesState` of a vector state."""
    return PreimagesState(
        accounts=accounts_from_json(data["accounts"]),
        statistics=SERVICES_STATISTICS.from_json(data["statistics"]),
    )


def state_to_json(state: PreimagesState, request_keys: dict[int, Any]) -> dict[str, Any]:
    """The vector JSON of `state`, with the (hash, length) request keys to look for."""
    return {
        "accounts": accounts_to_json(dict(state.accounts), None, request_keys),
        "statistics": SERVICES_STATISTICS.to_json(dict(state.statistics)),
    }


def input_from_json(data: dict[str, Any], spec: ChainSpec) -> PreimagesInput:
    preimages = block_codecs(spec).preimages_extrinsic.from_json(data["preimages"])
    return PreimagesInput(preimages=preimages, slot=data["slot"])


@pytest.mark.parametrize("path", vector_params("stf/preimages"))
def test_preimages_vector(path: Path) -> None:
    spec = spec_of(path)
    case = json.loads(path.read_text())
    pre = state_from_json(case["pre_state"])
    inputs = input_from_json(case["input"], spec)
    expected = state_from_json(case["post_state"])
    output = case["output"]
    if "err" in output:
        with pytest.raises(JamError) as raised:
            transition(pre, inputs, spec)
        assert raised.value.code == output["err"]
        assert expected == pre
        assert state_from_json(case["pre_state"]) == pre  # the input state is untouched
        return
    post, result = transition(pre, inputs, spec)
    assert output == {"ok": None} and result is None
    assert post == expected
    # The JSON form round-trips, with request keys known from the pre-state only.
    request_keys = {
        item["id"]: known_keys(item["data"])[1] for item in case["pre_state"]["accounts"]
    }
    assert state_to_json(post, request_keys) == case["post_state"]


def accounts_vector_params() -> list[object]:
    """Every vector class whose state holds full accounts (service, storage, blobs)."""
    return vector_params("stf/accumulate")


@pytest.mark.parametrize("path", accounts_vector_params())
def test_account_json_round_trip(path: Path) -> None:
    """account_to_json(account_from_json(x), raw keys of x) == x for accumulate accounts."""
    case = json.loads(path.read_text())
    for item in case["pre_state"]["accounts"] + case["post_state"]["accounts"]:
        storage, requests = known_keys(item["data"])
        account = account_from_json(item["id"], item["data"])
        assert account.info is not None
        assert account_to_json(item["id"], account, storage, requests) == item["data"]


def test_account_to_json_needs_raw_storage_keys() -> None:
    data = {
        "storage": [{"key": "0x01", "value": "0x02"}],
        "preimage_blobs": [],
        "preimage_requests": [],
    }
    account = account_from_json(7, data)
    with pytest.raises(UnknownStateKeyError):
        account_to_json(7, account, ())
    assert account_to_json(7, account, (b"\x01",), with_storage=True) == data


@given(st.lists(st.integers(0, 2**32 - 1), max_size=3))
def test_request_status_encoding(slots: list[int]) -> None:
    """E(↕[E_4(t)]) round-trips; [] is the single octet 0."""
    encoded = encode_request_status(slots)
    assert len(encoded) == 1 + 4 * len(slots)
    assert decode_request_status(encoded) == tuple(slots)


def solicited(service: int, blobs: list[bytes]) -> dict[int, ServiceAccount]:
    entries = {request_key(service, blake2b_256(b), len(b)): b"\x00" for b in blobs}
    return {service: ServiceAccount(info=None, entries=entries)}  # type: ignore[arg-type]


@given(st.lists(st.tuples(st.integers(0, 3), st.binary(max_size=4)), max_size=6))
def test_order_check_accepts_exactly_sorted_unique(pairs: list[tuple[int, bytes]]) -> None:
    """eq. 12.36: E_P must equal its own sorted, deduplicated form."""
    preimages = [Preimage(s, b) for s, b in pairs]
    accounts: dict[int, ServiceAccount] = {}
    for service, blob in pairs:
        account = solicited(service, [blob])[service]
        merged = {**accounts.get(service, account).entries, **account.entries}
        accounts[service] = ServiceAccount(info=None, entries=merged)  # type: ignore[arg-type]
    if pairs == sorted(set(pairs)):
        check_preimages(accounts, preimages)
    else:
        with pytest.raises(PreimagesNotSortedUnique):
            check_preimages(accounts, preimages)


def test_provide_disregards_unsolicited_and_repeats() -> None:
    """I (eq. 12.21): only providable pairs are integrated; a repeated pair is a no-op."""
    wanted, unwanted = b"wanted", b"unwanted"
    accounts = solicited(5, [wanted])
    post = provide(accounts, [(5, wanted), (5, wanted), (5, unwanted), (6, wanted)], 9)
    entries = post[5].entries
    assert entries[preimage_key(5, blake2b_256(wanted))] == wanted
    assert decode_request_status(entries[request_key(5, blake2b_256(wanted), 6)]) == (9,)
    assert len(entries) == 2 and set(post) == {5}
    assert accounts[5].entries == {request_key(5, blake2b_256(wanted), 6): b"\x00"}
    assert provide(post, [(5, wanted)], 10) == post  # no longer solicited: disregarded


def test_transition_spec_independent() -> None:
    blob = b"\x01\x02"
    pre = PreimagesState(accounts=solicited(1, [blob]), statistics={})
    post, _ = transition(pre, PreimagesInput((Preimage(1, blob),), 3), TINY)
    assert post.statistics[1].provided_count == 1 and post.statistics[1].provided_size == 2
