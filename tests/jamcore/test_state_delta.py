"""Overlaid service items and the state changes of a block (T(sigma') against T(sigma))."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jamcore.conformance.trace import read_trace_step
from jamcore.errors import JamError
from jamcore.spec import TINY
from jamcore.state.delta import state_changes
from jamcore.state.overlay import OverlayEntries, changes_from, with_changes
from jamcore.state.state import state_from_keyvals, state_to_keyvals
from jamcore.stf.block import import_block
from tests.jamcore.stf.test_block import first_steps

KEYS = st.binary(min_size=1, max_size=2)
CHANGES = st.dictionaries(KEYS, st.none() | st.binary(max_size=3), max_size=6)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(KEYS, st.binary(max_size=3), max_size=12), st.lists(CHANGES, max_size=6))
def test_stacked_overlays_behave_like_a_dict(
    base: dict[bytes, bytes], blocks: list[dict[bytes, bytes | None]]
) -> None:
    model = dict(base)
    current: object = base
    for changes in blocks:
        previous, before = current, dict(model)
        current = with_changes(previous, changes)  # type: ignore[arg-type]
        for key, value in changes.items():
            if value is None:
                model.pop(key, None)
            else:
                model[key] = value
        assert dict(current.items()) == model  # type: ignore[attr-defined]
        assert len(current) == len(model) and current == model  # type: ignore[arg-type]
        assert all((key in current) == (key in model) for key in changes)  # type: ignore[operator]
        delta = changes_from(previous, current)  # type: ignore[arg-type]
        replayed = {k: v for k, v in {**before, **delta}.items() if v is not None}
        assert replayed == model
    assert base == {k: v for k, v in base.items()}  # the base is never mutated


def test_an_overlay_never_copies_its_base() -> None:
    base = {bytes([i]): b"v" for i in range(100)}
    overlay = with_changes(base, {b"\x00": None, b"new": b"x"})
    assert isinstance(overlay, OverlayEntries) and overlay.base is base
    assert changes_from(base, overlay) == {b"\x00": None, b"new": b"x"}
    again = with_changes(overlay, {b"\x01": b"w"})
    assert isinstance(again, OverlayEntries) and again.base is base and len(again) == 100


@pytest.mark.parametrize("path", first_steps(count=5))
def test_state_changes_turn_the_prior_serialization_into_the_posterior(path: Path) -> None:
    step = read_trace_step(path.read_bytes(), TINY)
    prior = state_from_keyvals(step.pre.keyvals, TINY)
    try:
        posterior = import_block(prior, step.block, TINY, prior_state_root=step.pre.root)
    except JamError:
        assert step.post.root == step.pre.root  # a step recording a refused block
        return
    applied = dict(step.pre.keyvals)
    for key, value in state_changes(prior, posterior, TINY).items():
        if value is None:
            applied.pop(key, None)
        else:
            applied[key] = value
    assert applied == state_to_keyvals(posterior, TINY) == dict(step.post.keyvals)
