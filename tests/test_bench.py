"""The benchmark harness: discovery, prefixes and the one-JSON-line-per-figure format."""

from __future__ import annotations

import json
import subprocess
import sys


def test_fast_benchmarks_print_json_lines() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "codec", "fees"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    figures = [json.loads(line) for line in result.stdout.splitlines()]
    names = {figure["name"] for figure in figures}
    assert {"codec.block_decode_per_s", "fees.quote_per_s"} <= names
    for figure in figures:
        assert set(figure) == {"name", "value", "unit"}
        assert figure["value"] > 0
