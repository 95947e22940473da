"""Appendix D.2: the state serialization T and its inverse, against the block-import traces.

Every genesis and every step under $JAM_TEST_VECTORS/traces: each raw state decodes to a
`State`, serializes back to exactly the same keyvals, and its keyvals merklize to the
recorded root; each step's block decodes and the whole file re-encodes to its bytes.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jamcore.conformance.trace import (
    GENESIS_FILE,
    MalformedTrace,
    RawState,
    encode_trace_step,
    read_genesis,
    read_trace_step,
    trace_files,
)
from jamcore.errors import JamError
from jamcore.safrole.state import FallbackSeries, TicketBody, TicketSeries, ValidatorKey
from jamcore.spec import FULL, TINY, ChainSpec
from jamcore.state.keys import component_key, service_account_key, storage_key
from jamcore.state.merklization import state_root
from jamcore.state.serialize import (
    decode_privileges,
    decode_request_status,
    decode_safrole,
    decode_service_info,
    decode_statistics,
    encode_privileges,
    encode_request_status,
    encode_safrole,
    encode_service_info,
    encode_statistics,
)
from jamcore.state.state import (
    MalformedState,
    service_of_key,
    state_from_keyvals,
    state_to_keyvals,
)
from jamcore.types import (
    CoreActivityRecord,
    Privileges,
    ServiceActivityRecord,
    ServiceInfo,
    Statistics,
    ValidatorActivityRecord,
)
from tests.vectors import VECTORS, vector_params

TRACE_SPEC = TINY
"""The traces are for the tiny configuration only (traces/README.md)."""


def _check_raw_state(raw: RawState, spec: ChainSpec, what: str) -> None:
    state = state_from_keyvals(raw.keyvals, spec)
    keyvals = state_to_keyvals(state, spec)
    if keyvals != raw.keyvals:
        differing = sorted(
            key
            for key in keyvals.keys() | raw.keyvals.keys()
            if keyvals.get(key) != raw.keyvals.get(key)
        )
        pytest.fail(f"{what}: re-serialized keyvals differ first at key 0x{differing[0].hex()}")
    assert state_root(raw.keyvals) == raw.root, f"{what}: state root mismatch"


@pytest.mark.parametrize("path", vector_params("traces", "*.bin"))
def test_trace_file_states_round_trip(path: Path | None) -> None:
    assert path is not None
    data = path.read_bytes()
    if path.name == GENESIS_FILE:
        genesis = read_genesis(data, TRACE_SPEC)
        _check_raw_state(genesis.state, TRACE_SPEC, "genesis")
        return
    step = read_trace_step(data, TRACE_SPEC)
    _check_raw_state(step.pre, TRACE_SPEC, "pre-state")
    _check_raw_state(step.post, TRACE_SPEC, "post-state")
    assert step.block.header.parent_state_root == step.pre.root
    assert encode_trace_step(step, TRACE_SPEC) == data


def test_trace_files_lists_genesis_and_sorted_steps() -> None:
    directories = sorted(p for p in (VECTORS / "traces").glob("*") if p.is_dir())
    if not directories:
        pytest.skip("no traces")
    for directory in directories:
        genesis, steps = trace_files(directory)
        assert genesis is not None and genesis.name == GENESIS_FILE
        assert steps and steps == sorted(steps) and genesis not in steps


def _first_step() -> Path:
    steps = sorted((VECTORS / "traces").glob("*/00000001.bin"))
    if not steps:
        pytest.skip("no traces")
    return steps[0]


# --- malformed input ------------------------------------------------------------------


def test_malformed_keyvals_raise_malformed_state() -> None:
    keyvals = read_trace_step(_first_step().read_bytes(), TRACE_SPEC).pre.keyvals
    cases = {
        "unknown component": {**keyvals, component_key(17): b""},
        "short key": {**keyvals, bytes(30): b""},
        "missing component": {k: v for k, v in keyvals.items() if k != component_key(11)},
        "trailing octets": {**keyvals, component_key(11): keyvals[component_key(11)] + b"\0"},
        "orphan service data": {**keyvals, storage_key(4242, b"k"): b"v"},
        "bad service info": {**keyvals, service_account_key(7): b"\1"},
    }
    for name, bad in cases.items():
        with pytest.raises(MalformedState) as caught:
            state_from_keyvals(bad, TRACE_SPEC)
        assert isinstance(caught.value, JamError), name
        assert caught.value.code == "malformed_state"


def test_foreign_entry_key_is_rejected_on_encode() -> None:
    keyvals = read_trace_step(_first_step().read_bytes(), TRACE_SPEC).pre.keyvals
    state = state_from_keyvals(keyvals, TRACE_SPEC)
    service, account = next(iter(state.services.items()))
    foreign = replace(account, entries={storage_key(service + 1, b"x"): b"y"})
    with pytest.raises(MalformedState):
        state_to_keyvals(replace(state, services={service: foreign}), TRACE_SPEC)


def test_truncated_trace_raises_malformed_trace() -> None:
    data = _first_step().read_bytes()
    with pytest.raises(MalformedTrace):
        read_trace_step(data[:-1], TRACE_SPEC)
    with pytest.raises(MalformedTrace):
        read_trace_step(data + b"\0", TRACE_SPEC)


# --- properties of single rows --------------------------------------------------------

u32 = st.integers(0, 2**32 - 1)
u64 = st.integers(0, 2**64 - 1)
hashes = st.binary(min_size=32, max_size=32)
naturals = st.integers(0, 2**64 - 1)
specs = st.sampled_from([TINY, FULL])


def _validator(seed: int) -> ValidatorKey:
    octet = seed % 256
    return ValidatorKey(
        bytes([octet]) * 32, bytes([octet ^ 1]) * 32, bytes([octet]) * 144, bytes(128)
    )


@settings(max_examples=50)
@given(
    data=st.data(),
    fallback=st.booleans(),
    gamma_z=st.binary(min_size=144, max_size=144),
)
def test_safrole_row_round_trips(data: st.DataObject, fallback: bool, gamma_z: bytes) -> None:
    spec = TINY
    tickets = st.builds(TicketBody, hashes, st.integers(0, 255))
    gamma_k = tuple(_validator(i) for i in range(spec.validators_count))
    if fallback:
        keys = data.draw(st.lists(hashes, min_size=spec.epoch_length, max_size=spec.epoch_length))
        gamma_s: TicketSeries | FallbackSeries = FallbackSeries(tuple(keys))
    else:
        series = data.draw(
            st.lists(tickets, min_size=spec.epoch_length, max_size=spec.epoch_length)
        )
        gamma_s = TicketSeries(tuple(series))
    gamma_a = tuple(data.draw(st.lists(tickets, max_size=spec.epoch_length)))
    encoded = encode_safrole(gamma_k, gamma_z, gamma_s, gamma_a, spec)
    assert decode_safrole(encoded, spec) == (gamma_k, gamma_z, gamma_s, gamma_a)


@given(fields=st.tuples(hashes, u64, u64, u64, u64, u64, u32, u32, u32, u32))
def test_service_info_row_round_trips(fields: tuple) -> None:
    info = ServiceInfo(0, *fields)
    encoded = encode_service_info(info)
    assert len(encoded) == 1 + 32 + 5 * 8 + 4 * 4 and encoded[0] == 0
    assert decode_service_info(encoded) == info


@given(slots=st.lists(u32, max_size=3).map(tuple))
def test_request_status_round_trips(slots: tuple[int, ...]) -> None:
    assert decode_request_status(encode_request_status(slots)) == slots


@given(spec=specs, data=st.data(), always=st.dictionaries(u32, u64, max_size=6))
def test_privileges_row_orders_services_by_id(
    spec: ChainSpec, data: st.DataObject, always: dict[int, int]
) -> None:
    assign = tuple(data.draw(st.lists(u32, min_size=spec.cores_count, max_size=spec.cores_count)))
    privileges = Privileges(data.draw(u32), assign, data.draw(u32), data.draw(u32), always)
    encoded = encode_privileges(privileges, spec)
    assert decode_privileges(encoded, spec) == privileges
    tail = encoded[-12 * len(always) :] if always else b""
    ids = [int.from_bytes(tail[i : i + 4], "little") for i in range(0, len(tail), 12)]
    assert ids == sorted(always)


@settings(max_examples=30)
@given(
    data=st.data(),
    services=st.dictionaries(u32, st.tuples(*[naturals] * 10), max_size=4),
)
def test_statistics_row_round_trips(data: st.DataObject, services: dict[int, tuple]) -> None:
    spec = TINY
    validators = st.lists(
        st.builds(ValidatorActivityRecord, *[u32] * 6),
        min_size=spec.validators_count,
        max_size=spec.validators_count,
    ).map(tuple)
    cores = st.lists(
        st.builds(CoreActivityRecord, *[naturals] * 8),
        min_size=spec.cores_count,
        max_size=spec.cores_count,
    ).map(tuple)
    statistics = Statistics(
        data.draw(validators),
        data.draw(validators),
        data.draw(cores),
        {service: ServiceActivityRecord(*counts) for service, counts in services.items()},
    )
    assert decode_statistics(encode_statistics(statistics, spec), spec) == statistics


@given(service=u32, key=st.binary(max_size=40))
def test_service_of_key_inverts_the_interleaving(service: int, key: bytes) -> None:
    assert service_of_key(storage_key(service, key)) == service
    assert service_of_key(service_account_key(service)) == service
