"""Benchmarks: `python -m bench [PREFIX ...]` prints one JSON line per figure.

Every module `bench/<component>.py` defines `figures() -> Iterator[Figure]`; the runner
discovers the modules, so adding a benchmark never touches a shared file. A figure's name
is dotted (`codec.block_decode_per_s`); PREFIX selects figures whose name starts with it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One measured number: name (dotted), value and unit."""

    name: str
    value: float
    unit: str

    def to_json(self) -> str:
        return json.dumps({"name": self.name, "value": round(self.value, 6), "unit": self.unit})


def rate(run: Callable[[], object], *, min_seconds: float = 0.5, min_runs: int = 3) -> float:
    """Calls of `run` per second, measured over at least `min_seconds` and `min_runs` calls."""
    run()  # warm caches and JIT-compiled kernels before timing
    runs = 0
    start = time.perf_counter()
    elapsed = 0.0
    while runs < min_runs or elapsed < min_seconds:
        run()
        runs += 1
        elapsed = time.perf_counter() - start
    return runs / elapsed


def best_seconds(run: Callable[[], object], *, repeats: int = 3) -> float:
    """The fastest wall-clock time of `repeats` calls of `run`, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def vectors_dir() -> str:
    """Where the JAM test vectors live ($JAM_TEST_VECTORS, default ../shared/jamtestvectors)."""
    import os
    from pathlib import Path

    default = Path(__file__).resolve().parent.parent.parent / "shared" / "jamtestvectors"
    return os.environ.get("JAM_TEST_VECTORS", str(default))


FigureSource = Callable[[], Iterator[Figure]]
