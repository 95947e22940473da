"""The recent-history STF (section 7) against the w3f `stf/history` vectors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jamcore.crypto.hashing import ZERO_HASH
from jamcore.spec import TINY
from jamcore.stf.history import (
    HISTORY_INPUT,
    HistoryInput,
    HistoryState,
    history_state_codec,
    transition,
)
from jamcore.types.history import Mmr, RecentBlocks, ReportedWorkPackage
from tests.jamcore.stf.checks import check_binary_twin, check_vector, spec_of
from tests.vectors import vector_params


@pytest.mark.parametrize("path", vector_params("stf/history"))
def test_vector(path: Path) -> None:
    check_vector(path, history_state_codec(spec_of(path)), HISTORY_INPUT, None, transition)


@pytest.mark.parametrize("path", vector_params("stf/history"))
def test_binary_matches_json(path: Path) -> None:
    check_binary_twin(path, history_state_codec(spec_of(path)), HISTORY_INPUT)


def tagged(prefix: bytes, n: int) -> bytes:
    """A 32-byte hash naming block n."""
    return prefix + n.to_bytes(2, "little") + bytes(29)


@given(blocks=st.integers(1, 3 * TINY.recent_history_size))
def test_chain_of_blocks(blocks: int) -> None:
    """Over a run of blocks: at most H entries, each past state root filled in from the
    next block, the MMR holding one peak per set bit of the leaf count."""
    state = HistoryState(RecentBlocks((), Mmr(())))
    for n in range(blocks):
        package = ReportedWorkPackage(tagged(b"p", n), bytes(32))
        inputs = HistoryInput(
            header_hash=tagged(b"h", n),
            parent_state_root=tagged(b"s", n - 1) if n else bytes(32),
            accumulate_root=tagged(b"r", n),
            work_packages=(package,),
        )
        state, _ = transition(state, inputs, TINY)
    history = state.beta.history
    first = blocks - len(history)
    assert len(history) == min(blocks, TINY.recent_history_size)
    assert [entry.header_hash for entry in history] == [
        tagged(b"h", n) for n in range(first, blocks)
    ]
    assert [entry.state_root for entry in history] == [
        tagged(b"s", n) for n in range(first, blocks - 1)
    ] + [ZERO_HASH]
    peaks = state.beta.mmr.peaks
    assert [peak is not None for peak in peaks] == [
        bool(blocks >> i & 1) for i in range(len(peaks))
    ]


@given(st.lists(st.binary(min_size=32, max_size=32), max_size=6))
def test_reported_is_a_dictionary(hashes: list[bytes]) -> None:
    """The reported packages are held as a dictionary: unique keys in ascending order."""
    packages = tuple(ReportedWorkPackage(h, bytes(32)) for h in hashes)
    state = HistoryState(RecentBlocks((), Mmr(())))
    post, _ = transition(state, HistoryInput(bytes(32), bytes(32), bytes(32), packages), TINY)
    assert [p.hash for p in post.beta.history[-1].reported] == sorted(set(hashes))
