"""What every w3f STF vector test checks, once: the spec from the vector's directory, and a
transition's post-state and output (or error code, with the state left as it was)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jamcore.codec import Codec
from jamcore.errors import JamError
from jamcore.spec import SPECS, ChainSpec


def spec_of(path: Path) -> ChainSpec:
    """The chain spec named by the vector's directory (tiny or full)."""
    return next(SPECS[part] for part in reversed(path.parts) if part in SPECS)


def check_vector(
    path: Path,
    state_codec: Codec[Any],
    input_codec: Codec[Any],
    output_codec: Codec[Any] | None,
    transition: Callable[[Any, Any, ChainSpec], tuple[Any, Any]],
) -> None:
    """Run `transition` on the vector's pre-state and input: an error's code is the vector's
    `err` and its post-state is its pre-state; otherwise the output is its `ok` value (None
    when `output_codec` is None) and the post-state its post_state. The pre-state record
    is never changed."""
    vector = json.loads(path.read_text())
    spec = spec_of(path)
    pre = state_codec.from_json(vector["pre_state"])
    inputs = input_codec.from_json(vector["input"])
    expected = vector["output"]
    if expected is not None and "err" in expected:
        with pytest.raises(JamError) as raised:
            transition(pre, inputs, spec)
        assert raised.value.code == expected["err"]
        assert vector["post_state"] == vector["pre_state"]
    else:
        post, output = transition(pre, inputs, spec)
        if output_codec is None:
            assert output is expected is None
        else:
            assert output_codec.to_json(output) == expected["ok"]
        assert state_codec.to_json(post) == vector["post_state"]
    assert state_codec.to_json(pre) == vector["pre_state"]


def check_binary_twin(path: Path, state_codec: Codec[Any], input_codec: Codec[Any]) -> bytes:
    """The vector's .bin twin starts with the input then the pre-state, in the codecs'
    encoding; returns the rest of the twin (its output and post-state)."""
    vector = json.loads(path.with_suffix(".json").read_text())
    encoded = input_codec.encode(input_codec.from_json(vector["input"]))
    encoded += state_codec.encode(state_codec.from_json(vector["pre_state"]))
    data = path.with_suffix(".bin").read_bytes()
    assert data.startswith(encoded)
    return data[len(encoded) :]
