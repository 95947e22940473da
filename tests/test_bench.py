"""The benchmark harness: discovery, prefixes and the one-JSON-line-per-figure format."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.vectors import VECTORS


def test_fast_benchmarks_print_json_lines() -> None:
    """Two fast modules; the codec one reads the vectors, so it runs only where they are."""
    with_codec = (VECTORS / "codec" / "tiny").is_dir()
    modules = ["codec", "fees"] if with_codec else ["fees"]
    result = subprocess.run(
        [sys.executable, "-m", "bench", *modules],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    figures = [json.loads(line) for line in result.stdout.splitlines()]
    names = {figure["name"] for figure in figures}
    assert "fees.quote_per_s" in names
    assert "codec.block_decode_per_s" in names or not with_codec
    for figure in figures:
        assert set(figure) == {"name", "value", "unit"}
        assert figure["value"] > 0
