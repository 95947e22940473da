"""import_block (graypaper eq. 4.1): trace blocks import to their recorded posterior state,
and a tampered block is refused with the typed error of the rule it breaks, the prior
state unchanged."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from jamcore.block import Block
from jamcore.conformance.trace import TraceStep, read_trace_step, trace_files
from jamcore.errors import JamError
from jamcore.spec import TINY
from jamcore.state.state import state_from_keyvals, state_to_keyvals
from jamcore.stf.block import import_block, root_of
from tests.vectors import VECTORS

TRACES = VECTORS / "traces"


def first_steps(count: int = 3) -> list[object]:
    """The first `count` steps of every shared trace set (each with a block to tamper)."""
    if not TRACES.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no traces under {TRACES}"))]
    params = []
    for directory in sorted(path for path in TRACES.iterdir() if path.is_dir()):
        _, steps = trace_files(directory)
        params += [pytest.param(path, id=f"{directory.name}/{path.name}") for path in steps[:count]]
    return params


def load(path: Path) -> TraceStep:
    return read_trace_step(path.read_bytes(), TINY)


def refuse(step: TraceStep, block: Block, code: str, **options: object) -> None:
    """Importing `block` raises the JamError `code` and the prior state is unchanged."""
    state = state_from_keyvals(step.pre.keyvals, TINY)
    with pytest.raises(JamError) as caught:
        import_block(state, block, TINY, **options)  # type: ignore[arg-type]
    assert caught.value.code == code, caught.value
    assert state_to_keyvals(state, TINY) == step.pre.keyvals


@pytest.mark.parametrize("path", first_steps())
def test_trace_block_imports_to_its_posterior_state(path: Path) -> None:
    step = load(path)
    state = state_from_keyvals(step.pre.keyvals, TINY)
    assert root_of(state, TINY) == step.pre.root
    posterior = import_block(state, step.block, TINY)
    assert root_of(posterior, TINY) == step.post.root


@pytest.mark.parametrize("path", first_steps())
def test_invalid_seal_is_refused(path: Path) -> None:
    step = load(path)
    seal = bytes([step.block.header.seal[0] ^ 1]) + step.block.header.seal[1:]
    refuse(step, replace(step.block, header=replace(step.block.header, seal=seal)), "bad_seal")


@pytest.mark.parametrize("path", first_steps())
def test_invalid_parent_state_root_is_refused(path: Path) -> None:
    step = load(path)
    header = replace(step.block.header, parent_state_root=bytes(32))
    refuse(step, replace(step.block, header=header), "bad_parent_state_root")


@pytest.mark.parametrize("path", first_steps())
def test_invalid_extrinsic_hash_is_refused(path: Path) -> None:
    step = load(path)
    header = replace(step.block.header, extrinsic_hash=bytes(32))
    refuse(step, replace(step.block, header=header), "bad_extrinsic_hash")


@pytest.mark.parametrize("path", first_steps())
def test_invalid_slot_is_refused(path: Path) -> None:
    step = load(path)
    state = state_from_keyvals(step.pre.keyvals, TINY)
    header = replace(step.block.header, slot=state.slot)
    refuse(step, replace(step.block, header=header), "slot_not_after_parent")


@pytest.mark.parametrize("path", first_steps())
def test_invalid_parent_is_refused(path: Path) -> None:
    step = load(path)
    state = state_from_keyvals(step.pre.keyvals, TINY)
    if not state.recent_blocks.history:
        pytest.skip("the genesis state has no recent block to check the parent against")
    header = replace(step.block.header, parent=bytes(32))
    refuse(step, replace(step.block, header=header), "bad_parent")


class _Chain:
    """An ancestry A holding exactly the given (hash, slot) headers (eq. 5.3)."""

    def __init__(self, headers: set[tuple[bytes, int]]) -> None:
        self.headers = headers

    def holds(self, header_hash: bytes, slot: int) -> bool:
        return (header_hash, slot) in self.headers


def first_step_with_guarantees() -> TraceStep | None:
    for directory in sorted(path for path in TRACES.iterdir() if path.is_dir()):
        for path in trace_files(directory)[1]:
            step = load(path)
            if step.block.extrinsic.guarantees:
                return step
    return None


@pytest.mark.skipif(not TRACES.is_dir(), reason=f"no traces under {TRACES}")
def test_lookup_anchors_are_checked_against_the_given_ancestry() -> None:
    step = first_step_with_guarantees()
    if step is None:
        pytest.skip("no trace block carries a guarantee")
    anchors = {
        (g.report.context.lookup_anchor, g.report.context.lookup_anchor_slot)
        for g in step.block.extrinsic.guarantees
    }
    state = state_from_keyvals(step.pre.keyvals, TINY)
    posterior = import_block(state, step.block, TINY, ancestry=_Chain(anchors))
    assert root_of(posterior, TINY) == step.post.root
    refuse(step, step.block, "lookup_anchor_not_recent", ancestry=_Chain(set()))
