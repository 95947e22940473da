"""Reports of simulation runs: text tables, CSV, JSON, terminal charts and PNG files.

Design section 7. Tables, CSV and JSON need nothing beyond numpy. Charts use optional
libraries imported only when a chart is asked for: `plotext` (terminal) and `matplotlib`
(PNG, drawn with the non-interactive Agg backend); a missing one raises `SimulationError`
saying what to install, and the rest of the simulator keeps working without them.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shielded.sim.errors import SimulationError
from shielded.sim.model import COLUMNS, SimulationResult

TABLE_ROWS = 12
"""Epochs shown in a single run's table (evenly spaced, the last one always included)."""

SUMMARY_COLUMNS = (
    "live_notes",
    "permanent_notes",
    "nullifiers",
    "state_bytes",
    "anonymity_set",
    "capacity_use",
)


def human_bytes(count: float) -> str:
    """`count` bytes with a binary unit (B, KiB, MiB, GiB, TiB)."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def _cell(name: str, value: float) -> str:
    if name.endswith("_bytes"):
        return human_bytes(value)
    if name == "capacity_use":
        return f"{value:.2f}"
    return f"{int(value):,}"


def _render(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def label(result: SimulationResult, varied: str | None = None) -> str:
    """A short name for a run: the swept parameter's value, else policy and lifetime."""
    params = result.params
    if varied is not None and varied != "policy":
        return f"{varied}={getattr(params, varied)}"
    if params.policy.value == "permanent":
        return "permanent-only"
    return f"ephemeral N={params.lifetime}"


def epoch_table(result: SimulationResult, rows: int = TABLE_ROWS) -> str:
    """A table of evenly spaced epochs of one run, every output column."""
    picks = np.unique(np.linspace(0, result.epochs - 1, min(rows, result.epochs)).astype(int))
    body = [[_cell(n, result.columns[n][i]) for n in COLUMNS] for i in picks]
    return _render(COLUMNS, body)


def summary_table(results: Sequence[SimulationResult], varied: str | None = None) -> str:
    """One row per run: its label and the last epoch's main outputs."""
    header = ("run", "epochs", *SUMMARY_COLUMNS, "fees_burned", "notes_expired", "seconds")
    body = [
        [
            label(result, varied),
            str(result.epochs),
            *(_cell(n, result.final(n)) for n in SUMMARY_COLUMNS),
            f"{result.totals['fees_burned']:,}",
            f"{result.totals['notes_expired']:,}",
            f"{result.seconds:.2f}",
        ]
        for result in results
    ]
    return _render(header, body)


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):  # a chain id (PoolConfig.chain_id)
        return "0x" + value.hex()
    if hasattr(value, "value") and isinstance(value.value, str):
        return value.value
    return value


def to_json(results: Sequence[SimulationResult]) -> dict[str, Any]:
    """Every run's parameters, totals and per-epoch columns as JSON-ready data."""
    return {
        "runs": [
            {
                "params": _jsonable(result.params),
                "totals": result.totals,
                "seconds": result.seconds,
                "columns": {name: result.columns[name].tolist() for name in COLUMNS},
            }
            for result in results
        ]
    }


def to_csv(results: Sequence[SimulationResult], varied: str | None = None) -> str:
    """One line per run and epoch: the run's label, then every output column."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("run", *COLUMNS))
    for result in results:
        name = label(result, varied)
        for index in range(result.epochs):
            writer.writerow((name, *(result.columns[n][index].item() for n in COLUMNS)))
    return out.getvalue()


def write_files(
    results: Sequence[SimulationResult], directory: Path, varied: str | None = None
) -> list[Path]:
    """Write results.csv and results.json into `directory` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = directory / "results.csv", directory / "results.json"
    csv_path.write_text(to_csv(results, varied))
    json_path.write_text(json.dumps(to_json(results)))
    return [csv_path, json_path]


def terminal_chart(
    results: Sequence[SimulationResult],
    column: str = "state_bytes",
    varied: str | None = None,
    width: int = 100,
    height: int = 25,
) -> str:
    """A plotext line chart of `column` over epochs, one line per run (needs plotext)."""
    try:
        import plotext
    except ImportError:
        raise SimulationError("--chart needs plotext: pip install 'plotext>=5.2'") from None
    plotext.clear_figure()
    plotext.plotsize(width, height)
    plotext.theme("clear")
    scale, unit = _scale(results, column)
    for result in results:
        plotext.plot(
            result.columns["epoch"].tolist(),
            (result.columns[column] / scale).tolist(),
            label=label(result, varied),
        )
    plotext.title(f"{column} ({unit}) per epoch")
    plotext.xlabel("epoch")
    return plotext.build()


def _scale(results: Sequence[SimulationResult], column: str) -> tuple[float, str]:
    if not column.endswith("_bytes"):
        return 1.0, "count"
    peak = max(float(r.columns[column].max()) for r in results)
    for power, unit in ((3, "GiB"), (2, "MiB"), (1, "KiB")):
        if peak >= 1024**power:
            return float(1024**power), unit
    return 1.0, "B"


def save_png(
    results: Sequence[SimulationResult],
    path: Path,
    column: str = "state_bytes",
    varied: str | None = None,
) -> Path:
    """A matplotlib PNG of `column` over epochs, one line per run (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        raise SimulationError("PNG charts need matplotlib: pip install 'matplotlib>=3.7'") from None
    scale, unit = _scale(results, column)
    figure, axes = pyplot.subplots(figsize=(8, 4.5), dpi=100)
    for result in results:
        axes.plot(
            result.columns["epoch"], result.columns[column] / scale, label=label(result, varied)
        )
    first = results[0].params
    axes.set_title(f"{column} per epoch ({first.users:,} users)")
    axes.set_xlabel("epoch")
    axes.set_ylabel(f"{column} ({unit})")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    pyplot.close(figure)
    return path
