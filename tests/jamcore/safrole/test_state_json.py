"""The Safrole state's JSON form: round trips and malformed input rejected with MalformedKey."""

from __future__ import annotations

import copy
import json

import pytest

from jamcore.safrole.errors import MalformedKey
from jamcore.safrole.state import input_from_json, state_from_json, state_to_json
from tests.vectors import vector_files

FILES = vector_files("stf/safrole")
pytestmark = pytest.mark.skipif(not FILES, reason="no stf/safrole vectors")


@pytest.fixture(scope="module")
def case() -> dict:
    return json.loads(FILES[0].read_text())


def test_state_json_round_trips(case: dict) -> None:
    state = state_from_json(case["pre_state"])
    assert state_from_json(state_to_json(state)) == state


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        (("gamma_k", 0, "bandersnatch"), "0x1234"),
        (("kappa", 1, "bls"), "0x" + "00" * 143),
        (("eta", 2), "not hex"),
        (("gamma_z",), "0x" + "zz" * 144),
    ],
)
def test_invalid_malformed_state_fields(case: dict, field: tuple, bad: str) -> None:
    data = copy.deepcopy(case["pre_state"])
    target = data
    for step in field[:-1]:
        target = target[step]
    target[field[-1]] = bad
    with pytest.raises(MalformedKey):
        state_from_json(data)


def test_invalid_malformed_input(case: dict) -> None:
    data = copy.deepcopy(case["input"])
    data["entropy"] = "0x00"
    with pytest.raises(MalformedKey, match="entropy"):
        input_from_json(data)
    del data["slot"]
    with pytest.raises(MalformedKey):
        input_from_json(data)
