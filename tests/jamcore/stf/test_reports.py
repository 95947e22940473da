"""The guarantees STF (section 11.4) against the w3f `stf/reports` vectors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jamcore.spec import SPECS, TINY, ChainSpec
from jamcore.stf.reports import (
    REPORTS_OUTPUT,
    permute,
    reports_input_codec,
    reports_state_codec,
    transition,
)
from jamcore.stf.reports.assignment import Assignments, rotate
from jamcore.stf.reports.context import (
    check_lookup_anchor,
    check_new_packages,
)
from jamcore.stf.reports.errors import DuplicatePackage, LookupAnchorNotRecent
from jamcore.types.validators import ValidatorKey
from jamcore.work.package import RefineContext
from tests.jamcore.stf.checks import check_binary_twin, check_vector, spec_of
from tests.vectors import vector_params

HASHES = st.binary(min_size=32, max_size=32)


def validator(seed: int) -> ValidatorKey:
    """A validator key tuple with distinct keys derived from `seed`."""
    return ValidatorKey(bytes([seed + 1]) * 32, bytes([seed + 1]) * 32, bytes(144), bytes(128))


@pytest.mark.parametrize("path", vector_params("stf/reports"))
def test_vector(path: Path) -> None:
    spec = spec_of(path)
    check_vector(
        path, reports_state_codec(spec), reports_input_codec(spec), REPORTS_OUTPUT, transition
    )


@pytest.mark.parametrize("path", vector_params("stf/reports", "*.bin"))
def test_binary_matches_json(path: Path) -> None:
    """The .bin twin starts with the input then the pre-state, in the codec's encoding,
    and the input decodes back from it."""
    vector = json.loads(path.with_suffix(".json").read_text())
    spec = spec_of(path)
    input_codec = reports_input_codec(spec)
    check_binary_twin(path, reports_state_codec(spec), input_codec)
    inputs = input_codec.from_json(vector["input"])
    assert input_codec.decode(path.read_bytes()[: len(input_codec.encode(inputs))]) == inputs


@given(
    entropy=st.binary(min_size=32, max_size=32),
    slot=st.integers(0, 2**32 - 1),
    spec=st.sampled_from(list(SPECS.values())),
)
@settings(max_examples=20, deadline=None)
def test_assignment_balanced(entropy: bytes, slot: int, spec: ChainSpec) -> None:
    """P(e, t) assigns every core floor(V/C) or ceil(V/C) validators, and one rotation
    later within the epoch every validator is on the next core (eq. 11.19-11.20)."""
    cores = permute(entropy, slot, spec)
    counts = [cores.count(core) for core in range(spec.cores_count)]
    assert sum(counts) == spec.validators_count
    assert max(counts) - min(counts) <= 1
    if slot % spec.epoch_length + spec.rotation_period < spec.epoch_length:
        later = permute(entropy, slot + spec.rotation_period, spec)
        assert later == rotate(cores, 1, spec.cores_count)


@given(slot=st.integers(0, 2**32 - 1), entropy=st.lists(HASHES, min_size=4, max_size=4))
@settings(max_examples=30, deadline=None)
def test_previous_assignment(slot: int, entropy: list[bytes]) -> None:
    """G* is P(eta'_2, tau' - R) with kappa' within the epoch, else P(eta'_3, tau' - R)
    with lambda' (eq. 11.22); G is P(eta'_2, tau') with kappa' (eq. 11.21)."""
    spec = TINY
    curr = tuple(validator(i) for i in range(spec.validators_count))
    prev = tuple(validator(i + 100) for i in range(spec.validators_count))
    assignments = Assignments(slot, entropy, curr, prev, (), spec)
    earlier = slot - spec.rotation_period
    same_epoch = earlier // spec.epoch_length == slot // spec.epoch_length
    previous = assignments.previous()
    assert previous.cores == permute(entropy[2] if same_epoch else entropy[3], earlier, spec)
    assert previous.keys == (curr if same_epoch else prev)
    assert assignments.current().cores == permute(entropy[2], slot, spec)
    assert assignments.for_guarantee(slot) is assignments.current()


def test_offenders_nulled() -> None:
    """Offenders' keys are replaced by the null key in G (Phi, eq. 11.21)."""
    spec = TINY
    curr = tuple(validator(i) for i in range(spec.validators_count))
    offender = curr[3].ed25519
    keys = Assignments(5, [bytes(32)] * 4, curr, curr, (offender,), spec).current().keys
    assert keys[3] == ValidatorKey.null()
    assert keys[:3] + keys[4:] == curr[:3] + curr[4:]


@given(
    packages=st.lists(st.sampled_from([bytes([i]) * 32 for i in range(5)]), max_size=5),
    known=st.sets(st.sampled_from([bytes([i]) * 32 for i in range(5)]), max_size=2),
    recent=st.sets(st.sampled_from([bytes([i]) * 32 for i in range(5)]), max_size=2),
)
def test_new_packages(packages: list[bytes], known: set[bytes], recent: set[bytes]) -> None:
    """Packages are accepted iff unique and neither known nor recently reported
    (eq. 11.32, 11.38)."""
    reported = {package: bytes(32) for package in recent}
    if len(set(packages)) == len(packages) and not (known | recent) & set(packages):
        check_new_packages(packages, known, reported)
    else:
        with pytest.raises(DuplicatePackage):
            check_new_packages(packages, known, reported)


def test_lookup_anchor_age() -> None:
    """A lookup anchor may be at most L slots old (eq. 11.34)."""
    context = RefineContext(bytes(32), bytes(32), bytes(32), bytes(32), 100, ())
    check_lookup_anchor(context, 100 + TINY.max_lookup_anchor_age, TINY)
    with pytest.raises(LookupAnchorNotRecent):
        check_lookup_anchor(context, 101 + TINY.max_lookup_anchor_age, TINY)
