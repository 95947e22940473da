"""Where the JAM test vectors live, and pytest parameters over their files.

Conformance tests read vectors from $JAM_TEST_VECTORS (default ../shared/jamtestvectors,
relative to the project root) and are parametrized over every file found there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VECTORS = Path(
    os.environ.get("JAM_TEST_VECTORS", PROJECT_ROOT.parent / "shared" / "jamtestvectors")
)


def vector_files(subdir: str, pattern: str = "*.json") -> list[Path]:
    """Every vector file under VECTORS/subdir matching pattern, sorted (empty if absent)."""
    base = VECTORS / subdir
    return sorted(base.rglob(pattern)) if base.is_dir() else []


def vector_params(subdir: str, pattern: str = "*.json") -> list[object]:
    """pytest params over vector files, ids relative to VECTORS; a skip marker if none exist."""
    files = vector_files(subdir, pattern)
    if not files:
        return [
            pytest.param(
                None,
                marks=pytest.mark.skip(reason=f"no vectors under {VECTORS / subdir}"),
                id="missing",
            )
        ]
    return [pytest.param(f, id=str(f.relative_to(VECTORS))) for f in files]
