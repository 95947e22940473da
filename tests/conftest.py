"""Suite-wide test settings.

Hypothesis: under CI (the `CI` environment variable set, as `.ci/run` does) every property
test runs a fixed, derandomized set of examples with no per-example deadline, so a run on a
loaded 2-core machine neither flakes on timing nor on a newly drawn example; local runs keep
exploring with random seeds.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
