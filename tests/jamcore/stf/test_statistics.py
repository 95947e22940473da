"""Statistics (graypaper v0.7.2 section 13) against the w3f vectors.

`stf/statistics` checks the validator statistics (eq. 13.3-13.5). The core and service
statistics (eq. 13.8-13.16) have no vector class of their own; the `stf/reports` vectors
record the refinement part of both (their prior statistics are empty), so they are checked
against the incoming reports of every accepted `stf/reports` case, and the remaining terms
(popularity, DA load, provisions, accumulation) by properties.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jamcore.block import Preimage
from jamcore.spec import TINY
from jamcore.stf.statistics import (
    core_statistics,
    data_availability_load,
    rotate_epoch,
    service_statistics,
    statistics_input_codec,
    statistics_state_codec,
    transition,
    with_provisions,
)
from jamcore.types.statistics import (
    SERVICES_STATISTICS,
    ServiceActivityRecord,
    ValidatorActivityRecord,
    cores_statistics_codec,
)
from jamcore.work.guarantee import AvailAssurance, guarantees_extrinsic_codec
from tests.jamcore.stf.checks import check_binary_twin, check_vector, spec_of
from tests.vectors import VECTORS, vector_files, vector_params


@pytest.mark.parametrize("path", vector_params("stf/statistics"))
def test_statistics_vector(path: Path) -> None:
    spec = spec_of(path)
    state_codec, input_codec = statistics_state_codec(spec), statistics_input_codec(spec)
    check_vector(path, state_codec, input_codec, None, transition)
    # The binary twin is E(input, pre_state, post_state) (the output is NULL).
    post_state = state_codec.from_json(json.loads(path.read_text())["post_state"])
    assert check_binary_twin(path, state_codec, input_codec) == state_codec.encode(post_state)


def accepted_reports_params() -> list[object]:
    """The `stf/reports` vectors whose guarantees are accepted (output ok)."""
    params = [
        pytest.param(path, id=str(path.relative_to(VECTORS)))
        for path in vector_files("stf/reports")
        if "ok" in json.loads(path.read_text())["output"]
    ]
    if params:
        return params
    reason = f"no accepted reports vectors under {VECTORS / 'stf/reports'}"
    return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="missing")]


@pytest.mark.parametrize("path", accepted_reports_params())
def test_refinement_statistics_match_reports_vectors(path: Path) -> None:
    """R(c), L(c) (eq. 13.9-13.10) and R(s) (eq. 13.16) of the incoming reports I."""
    spec = spec_of(path)
    case = json.loads(path.read_text())
    cores_codec = cores_statistics_codec(spec)
    pre_cores = cores_codec.from_json(case["pre_state"]["cores_statistics"])
    assert all(record.da_load == record.popularity == 0 for record in pre_cores)
    assert case["pre_state"]["services_statistics"] == []
    guarantees = guarantees_extrinsic_codec(spec).from_json(case["input"]["guarantees"])
    incoming = [guarantee.report for guarantee in guarantees]

    cores = core_statistics(incoming, (), (), spec)
    assert cores == cores_codec.from_json(case["post_state"]["cores_statistics"])
    services = service_statistics(incoming, (), {})
    assert services == SERVICES_STATISTICS.from_json(case["post_state"]["services_statistics"])


def test_epoch_rotation() -> None:
    """eq. 13.4: same epoch keeps (pi_V, pi_L); a new epoch zeroes pi_V into pi_L."""
    record = ValidatorActivityRecord(1, 2, 3, 4, 5, 6)
    curr = (record,) * TINY.validators_count
    last = (ValidatorActivityRecord.zero(),) * TINY.validators_count
    assert rotate_epoch(curr, last, 12, 23, TINY) == (curr, last)
    zero = (ValidatorActivityRecord.zero(),) * TINY.validators_count
    assert rotate_epoch(curr, last, 11, 12, TINY) == (zero, curr)
    assert rotate_epoch(curr, last, 5, 40, TINY) == (zero, curr)


@given(st.lists(st.binary(min_size=1, max_size=1), max_size=TINY.validators_count))
def test_popularity_counts_assurance_bits(bitfields: list[bytes]) -> None:
    """Popularity (eq. 13.8): the number of assurances with bit c set, LSB first."""
    assurances = [
        AvailAssurance(bytes(32), bytes([field[0] & 0b11]), index, bytes(64))
        for index, field in enumerate(bitfields)
    ]
    cores = core_statistics((), (), assurances, TINY)
    for core in range(TINY.cores_count):
        expected = sum(a.bitfield[0] >> core & 1 for a in assurances)
        assert cores[core].popularity == expected


@given(st.integers(0, 3072), st.integers(0, 2**32 - 1))
def test_da_load_formula(exports: int, length: int) -> None:
    """D(c) (eq. 13.11): bundle length + W_G * ceil(exports * 65 / 64)."""

    report = SimpleNamespace(package_spec=SimpleNamespace(length=length, exports_count=exports))
    ceiling = -(-exports * 65 // 64)
    assert data_availability_load(report, TINY) == length + TINY.segment_size * ceiling  # type: ignore


@given(
    st.lists(st.tuples(st.integers(0, 5), st.binary(max_size=8)), max_size=8),
    st.dictionaries(st.integers(0, 8), st.tuples(st.integers(0, 10**6), st.integers(0, 9))),
)
def test_service_statistics_provisions_and_accumulation(
    provisions: list[tuple[int, bytes]], accumulated: dict[int, tuple[int, int]]
) -> None:
    """eq. 13.12-13.15: one record per provider or accumulated service, with the count and
    octets provided and S[s] = (gas, count)."""
    preimages = [Preimage(service, blob) for service, blob in provisions]
    stats = service_statistics((), preimages, accumulated)
    assert list(stats) == sorted({s for s, _ in provisions} | set(accumulated))
    for service, record in stats.items():
        blobs = [blob for s, blob in provisions if s == service]
        assert (record.provided_count, record.provided_size) == (
            len(blobs),
            sum(map(len, blobs)),
        )
        gas, count = accumulated.get(service, (0, 0))
        assert (record.accumulate_gas_used, record.accumulate_count) == (gas, count)
        assert record.refinement_count == record.refinement_gas_used == 0
    # The preimages section's view sets only the provision pair.
    given_record = ServiceActivityRecord(0, 0, 1, 2, 3, 4, 5, 6, 7, 8)
    merged = with_provisions({99: given_record}, preimages)
    assert merged[99] == given_record
    for service, record in merged.items():
        if service != 99:
            assert (record.provided_count, record.provided_size) == (
                stats[service].provided_count,
                stats[service].provided_size,
            )
