"""Parameter sweeps: one simulation per value, in local processes or on Ray (design section 7).

`--sweep lifetime=4,8,16` runs the base parameters once per value. Runs are independent
(each has its own seeded generator), so they go to a `ProcessPoolExecutor` by default and
give the same results in any order or on any engine. `engine="ray"` imports Ray only then
(an optional extra) and says how to install it if it is missing.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from shielded.sim.errors import SimulationError, ensure
from shielded.sim.model import SimulationResult, simulate
from shielded.sim.params import SimulationParams, coerce
from shielded.sim.sizes import measure_sizes

ENGINES = ("local", "ray")


def parse_sweep(text: str) -> tuple[str, list[Any]]:
    """Parse "PARAM=a,b,c" into the parameter name and its typed values."""
    name, sep, values = text.partition("=")
    ensure(
        bool(sep) and bool(values.strip()),
        f"--sweep {text!r}: expected PARAM=a,b,c (for example lifetime=4,8,16)",
    )
    parsed = [coerce(name.strip(), value.strip()) for value in values.split(",")]
    return name.strip(), parsed


def sweep_params(
    base: SimulationParams, name: str, values: Sequence[Any]
) -> list[SimulationParams]:
    """The base parameters with `name` set to each value (validated)."""
    return [base.replace(**{name: value}) for value in values]


def run_sweep(
    runs: Sequence[SimulationParams], engine: str = "local", workers: int | None = None
) -> list[SimulationResult]:
    """Run every parameter set, in parallel processes (local) or Ray tasks; input order kept."""
    ensure(engine in ENGINES, f"engine {engine!r}: expected one of {list(ENGINES)}")
    ensure(workers is None or workers >= 1, f"workers {workers!r}: expected at least 1")
    sizes = measure_sizes()
    if engine == "ray":
        return _run_on_ray(runs, sizes)
    task = functools.partial(simulate, sizes=sizes)
    count = workers or min(len(runs), os.cpu_count() or 1)
    with ProcessPoolExecutor(max_workers=max(1, count)) as pool:
        return list(pool.map(task, runs))


def _run_on_ray(runs: Sequence[SimulationParams], sizes: object) -> list[SimulationResult]:
    try:
        import ray
    except ImportError:
        raise SimulationError(
            "--engine ray needs Ray, an optional extra: pip install 'ray>=2.9' "
            "(or use --engine local)"
        ) from None
    ray.init(ignore_reinit_error=True, include_dashboard=False)
    remote = ray.remote(simulate)
    return list(ray.get([remote.remote(params, sizes) for params in runs]))
