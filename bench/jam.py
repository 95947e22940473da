"""Block-import benchmarks: every block of the shared traces (`traces/*`, tiny spec).

Each block is imported from its step's pre-state, as `shielded jam import` does; the time
per block is Upsilon(sigma, B) and the posterior state root (graypaper eq. 4.1, D.3).
Figures: `jam.trace_import_ms.mean`, `.p50` and `.max` over all blocks of all traces; the
count of blocks whose root did not match goes to stderr when it is not zero; and
`jam.accumulate_gas_per_s`, the PVM gas executed per second of Psi_A invocations (eq. B.9,
host calls included) over the accumulate-heavy blocks of the `storage` trace (those running
at least HEAVY_BLOCK_GAS of accumulate code).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

from bench import Figure, vectors_dir
from jamcore.conformance.runner import load_importer, run_traces, timing_summary
from jamcore.spec import TINY

HEAVY_BLOCK_GAS = 10_000
"""A block counts as accumulate-heavy when its accumulations execute this much gas."""


class _AccumulateMeter:
    """Gas executed and seconds spent in Psi_A's PVM invocations, per imported block."""

    def __init__(self) -> None:
        self.blocks: list[tuple[int, float]] = []
        self._gas = 0
        self._seconds = 0.0

    def install(self):  # noqa: ANN201 - returns the restore callable
        from jamcore.pvm.invocations import accumulate as psi_a

        original = psi_a.invoke

        def timed(program, state, host_call, **options):  # noqa: ANN001, ANN202
            gas, start = state.gas, time.perf_counter()
            try:
                return original(program, state, host_call, **options)
            finally:
                self._seconds += time.perf_counter() - start
                self._gas += gas - max(state.gas, 0)

        psi_a.invoke = timed
        return lambda: setattr(psi_a, "invoke", original)

    def wrap(self, importer):  # noqa: ANN001, ANN201
        def measured(*args):  # noqa: ANN002, ANN202
            self._gas, self._seconds = 0, 0.0
            try:
                return importer(*args)
            finally:
                self.blocks.append((self._gas, self._seconds))

        return measured


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
    meter = _AccumulateMeter()
    restore = meter.install()
    timings: list[float] = []
    failed = 0
    heavy_gas, heavy_seconds = 0, 0.0
    try:
        for report in run_traces(traces, TINY, meter.wrap(importer)):
            timings += report.timings_ms()
            failed += sum(not step.passed for step in report.steps)
            if report.directory.name == "storage":
                for gas, seconds in meter.blocks:
                    if gas >= HEAVY_BLOCK_GAS:
                        heavy_gas, heavy_seconds = heavy_gas + gas, heavy_seconds + seconds
            meter.blocks.clear()
    finally:
        restore()
    if failed:
        print(f"bench.jam: {failed} blocks did not match their trace", file=sys.stderr)
    if not timings:
        return
    summary = timing_summary(timings)
    yield Figure("jam.trace_import_ms.mean", summary["mean_ms"], "ms")
    yield Figure("jam.trace_import_ms.p50", summary["p50_ms"], "ms")
    yield Figure("jam.trace_import_ms.max", summary["max_ms"], "ms")
    if heavy_seconds > 0:
        yield Figure("jam.accumulate_gas_per_s", heavy_gas / heavy_seconds, "gas/s")
