"""Spend-circuit keys shared by the tests of one process: set up once, cached on disk.

The dev-only setup takes ~10 s and loading the proving key ~5 s, so keys live in
~/.cache/jam-shielded (or $JAM_SHIELDED_CACHE) across runs and in memory within one.
"""

from __future__ import annotations

import functools

from shielded.circuits.artifacts import ProvingArtifacts, ensure_artifacts


@functools.cache
def spend_keys() -> ProvingArtifacts:
    return ensure_artifacts()
