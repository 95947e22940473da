"""Conformance: every w3f `stf/safrole` vector gives exactly its post_state and output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jamcore.crypto.srs import ZCASH_SRS_SHA256, Srs, load_srs
from jamcore.safrole.errors import SafroleError
from jamcore.safrole.state import (
    input_from_json,
    offenders_from_json,
    output_to_json,
    state_from_json,
    state_to_json,
)
from jamcore.safrole.transition import transition
from jamcore.spec import SPECS, ChainSpec
from tests.vectors import VECTORS, vector_params


def spec_of(path: Path) -> ChainSpec:
    """tiny or full, from the directory the vector sits in."""
    for part in reversed(path.parts):
        if part in SPECS:
            return SPECS[part]
    raise AssertionError(f"cannot tell the chain spec of {path}")


@pytest.fixture(scope="module")
def vectors_srs() -> Srs:
    """The Zcash SRS shipped beside the vectors (hash-checked), else the packaged copy."""
    path = VECTORS / "stf" / "safrole" / "zcash-srs-2-11-uncompressed.bin"
    return load_srs(path, expected_sha256=ZCASH_SRS_SHA256) if path.exists() else load_srs()


@pytest.mark.parametrize("path", vector_params("stf/safrole"))
def test_safrole_vector(path: Path, vectors_srs: Srs) -> None:
    case = json.loads(path.read_text())
    spec = spec_of(path)
    prior = state_from_json(case["pre_state"])
    offenders = offenders_from_json(case["pre_state"])
    block = input_from_json(case["input"])
    try:
        posterior, output = transition(prior, block, offenders, spec, vectors_srs)
        result = output_to_json(output)
    except SafroleError as error:
        posterior, result = prior, output_to_json(error)
    assert result == case["output"]
    expected = dict(case["post_state"])
    assert sorted(expected.pop("post_offenders")) == sorted(case["pre_state"]["post_offenders"])
    assert state_to_json(posterior) == expected
