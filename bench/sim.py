"""Benchmark of the dust and state-growth simulator (design section 7, issue 9).

Target: 1,000,000 users over 1,000 epochs in <= 60 s, memory under 4 GiB. The run happens
in a freshly spawned process so `resource.getrusage(RUSAGE_SELF).ru_maxrss` there is the
simulator's own peak resident memory (imports included), not that of other benchmarks.
The CPU-time figure is the same run's user + system time: on a shared machine the wall
clock also counts time spent waiting for a core.
"""

from __future__ import annotations

import multiprocessing
import resource
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

from bench import Figure

USERS = 1_000_000
EPOCHS = 1_000


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _run_once(users: int, epochs: int) -> tuple[float, float, float]:
    """Simulate the default ephemeral policy; returns (wall s, CPU s, peak RSS in MiB)."""
    from shielded.sim.model import Simulation
    from shielded.sim.params import SimulationParams
    from shielded.sim.sizes import measure_sizes

    sizes = measure_sizes()  # the one-off calibration on real pool objects is not timed
    simulation = Simulation(SimulationParams(users=users, epochs=epochs, seed=1), sizes)
    start, cpu = time.perf_counter(), _cpu_seconds()
    simulation.run()
    seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
    return seconds, cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def figures() -> Iterator[Figure]:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        seconds, cpu, peak_mib = pool.submit(_run_once, USERS, EPOCHS).result()
    yield Figure("sim.users_1m_epochs_1000_s", seconds, "s")
    yield Figure("sim.users_1m_epochs_1000_cpu_s", cpu, "s")
    yield Figure("sim.users_1m_epochs_1000_peak_rss_mib", peak_mib, "MiB")
