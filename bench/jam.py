"""Block-import benchmarks: every block of the shared traces (`traces/*`, tiny spec).

Each block is imported from its step's pre-state, as `shielded jam import` does; the time
per block is Upsilon(sigma, B) and the posterior state root (graypaper eq. 4.1, D.3).
Figures: `jam.trace_import_ms.mean`, `.p50` and `.max` over all blocks of all traces; the
count of blocks whose root did not match goes to stderr when it is not zero.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from bench import Figure, vectors_dir
from jamcore.conformance.runner import load_importer, run_traces, timing_summary
from jamcore.spec import TINY


def figures() -> Iterator[Figure]:
    traces = Path(vectors_dir()) / "traces"
    if not traces.is_dir():
        print(f"bench.jam: no traces under {traces}", file=sys.stderr)
        return
    try:
        importer = load_importer()
    except ImportError as error:
        print(f"bench.jam: the block importer is unavailable: {error}", file=sys.stderr)
        return
    timings: list[float] = []
    failed = 0
    for report in run_traces(traces, TINY, importer):
        timings += report.timings_ms()
        failed += sum(not step.passed for step in report.steps)
    if failed:
        print(f"bench.jam: {failed} blocks did not match their trace", file=sys.stderr)
    if not timings:
        return
    summary = timing_summary(timings)
    yield Figure("jam.trace_import_ms.mean", summary["mean_ms"], "ms")
    yield Figure("jam.trace_import_ms.p50", summary["p50_ms"], "ms")
    yield Figure("jam.trace_import_ms.max", summary["max_ms"], "ms")
