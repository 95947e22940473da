"""The assurances STF (section 11.2) against the w3f `stf/assurances` vectors."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from jamcore.errors import JamError
from jamcore.spec import ChainSpec
from jamcore.stf.assurances import (
    ASSURANCES_OUTPUT,
    AssurancesInput,
    AssurancesState,
    assurance_message,
    assurances_input_codec,
    assurances_state_codec,
    assured_cores,
    transition,
)
from jamcore.work.guarantee import AvailAssurance
from tests.jamcore.stf.checks import check_binary_twin, check_vector, spec_of
from tests.vectors import VECTORS, vector_params


@pytest.mark.parametrize("path", vector_params("stf/assurances"))
def test_vector(path: Path) -> None:
    spec = spec_of(path)
    check_vector(
        path,
        assurances_state_codec(spec),
        assurances_input_codec(spec),
        ASSURANCES_OUTPUT,
        transition,
    )


@pytest.mark.parametrize("path", vector_params("stf/assurances"))
def test_binary_matches_json(path: Path) -> None:
    spec = spec_of(path)
    check_binary_twin(path, assurances_state_codec(spec), assurances_input_codec(spec))


@given(st.binary(min_size=1, max_size=43))
def test_bitfield_bits(bitfield: bytes) -> None:
    """Core c is bit c mod 8 (least significant first) of octet c div 8 (eq. C.9)."""
    cores = assured_cores(bitfield, 8 * len(bitfield))
    value = int.from_bytes(bitfield, "little")
    assert cores == [c for c in range(8 * len(bitfield)) if value >> c & 1]


def test_empty_extrinsic_times_out_only() -> None:
    """With no assurances nothing becomes available; only timed-out reports leave rho."""
    path = VECTORS / "stf/assurances/tiny/no_assurances_with_stale_report-1.json"
    if not path.exists():
        pytest.skip(f"missing {path}")
    vector = json.loads(path.read_text())
    spec = spec_of(path)
    pre = assurances_state_codec(spec).from_json(vector["pre_state"])
    for slot in (0, 2**32 - 1):
        post, output = transition(pre, AssurancesInput((), slot, bytes(32)), spec)
        assert output.reported == ()
        for before, after in zip(pre.avail_assignments, post.avail_assignments, strict=True):
            timed_out = (
                before is not None and slot >= before.timeout + spec.assurance_timeout_period
            )
            assert after == (None if timed_out else before)


def signed_state() -> tuple[AssurancesState, list[SigningKey], ChainSpec]:
    """The some_assurances pre-state with fresh ed25519 keys for its validators."""
    path = VECTORS / "stf/assurances/tiny/some_assurances-1.json"
    if not path.exists():
        pytest.skip(f"missing {path}")
    spec = spec_of(path)
    pre = assurances_state_codec(spec).from_json(json.loads(path.read_text())["pre_state"])
    secrets = [SigningKey(bytes([i + 1]) * 32) for i in range(spec.validators_count)]
    validators = tuple(
        replace(key, ed25519=bytes(secret.verify_key))
        for key, secret in zip(pre.curr_validators, secrets, strict=True)
    )
    return replace(pre, curr_validators=validators), secrets, spec


def assure(secret: SigningKey, index: int, parent: bytes, bitfield: bytes) -> AvailAssurance:
    signature = secret.sign(assurance_message(parent, bitfield)).signature
    return AvailAssurance(parent, bitfield, index, signature)


@given(
    bitfields=st.lists(
        st.sampled_from([b"\x00", b"\x01", b"\x02", b"\x03"]), min_size=6, max_size=6
    ),
    slot=st.integers(0, 20),
)
@settings(max_examples=25, deadline=None)
def test_super_majority(bitfields: list[bytes], slot: int) -> None:
    """A core's report is available iff more than 2V/3 assurers set its bit; otherwise it
    stays unless timed out (eq. 11.16, 11.17)."""
    pre, secrets, spec = signed_state()
    parent = bytes(range(32))
    assurances = tuple(
        assure(secret, i, parent, bits)
        for i, (secret, bits) in enumerate(zip(secrets, bitfields, strict=True))
    )
    post, output = transition(pre, AssurancesInput(assurances, slot, parent), spec)
    expected_available = []
    for core, assignment in enumerate(pre.avail_assignments):
        assert assignment is not None
        votes = sum(bits[0] >> core & 1 for bits in bitfields)
        available = 3 * votes > 2 * spec.validators_count
        timed_out = slot >= assignment.timeout + spec.assurance_timeout_period
        if available:
            expected_available.append(assignment.report)
        assert post.avail_assignments[core] == (None if available or timed_out else assignment)
    assert output.reported == tuple(expected_available)


def test_rejections() -> None:
    """Each malformed assurance is rejected with its w3f code."""
    pre, secrets, spec = signed_state()
    parent = bytes(range(32))
    good = [assure(secret, i, parent, b"\x03") for i, secret in enumerate(secrets)]
    cases = {
        "bad_attestation_parent": [assure(secrets[0], 0, bytes(32), b"\x01")],
        "bad_validator_index": [assure(secrets[0], spec.validators_count, parent, b"\x01")],
        "not_sorted_or_unique_assurers": [good[1], good[0]],
        "bad_signature": [replace(good[0], bitfield=b"\x01")],
        "core_not_engaged": [assure(secrets[0], 0, parent, b"\x04")],
    }
    for code, assurances in cases.items():
        with pytest.raises(JamError) as raised:
            transition(pre, AssurancesInput(tuple(assurances), 0, parent), spec)
        assert raised.value.code == code
    empty = replace(pre, avail_assignments=(None, pre.avail_assignments[1]))
    with pytest.raises(JamError) as raised:
        transition(empty, AssurancesInput((good[0],), 0, parent), spec)
    assert raised.value.code == "core_not_engaged"
