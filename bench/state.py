"""State benchmarks: T^-1, T and the state root of a block-import trace step's state
(graypaper Appendix D.2) on the largest post-state of the `storage` trace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from bench import Figure, best_seconds, vectors_dir
from jamcore.conformance.trace import RawState, read_trace_step, trace_files
from jamcore.spec import TINY
from jamcore.state.merklization import state_root
from jamcore.state.state import state_from_keyvals, state_to_keyvals


def _largest_state() -> RawState:
    _, steps = trace_files(Path(vectors_dir()) / "traces" / "storage")
    states = [read_trace_step(path.read_bytes(), TINY).post for path in steps]
    return max(states, key=lambda raw: len(raw.keyvals))


def figures() -> Iterator[Figure]:
    raw = _largest_state()
    state = state_from_keyvals(raw.keyvals, TINY)
    decode = best_seconds(lambda: state_from_keyvals(raw.keyvals, TINY), repeats=20)
    encode = best_seconds(lambda: state_to_keyvals(state, TINY), repeats=20)
    root = best_seconds(lambda: state_root(raw.keyvals), repeats=20)
    yield Figure("bench_state.keys", len(raw.keyvals), "keys")
    yield Figure("bench_state.decode_ms", decode * 1e3, "ms")
    yield Figure("bench_state.encode_ms", encode * 1e3, "ms")
    yield Figure("bench_state.root_ms", root * 1e3, "ms")
    yield Figure("bench_state.total_ms", (decode + encode + root) * 1e3, "ms")
