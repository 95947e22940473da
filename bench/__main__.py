"""Run every benchmark module in `bench/` and print one JSON line per figure."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import bench


def main(prefixes: list[str]) -> int:
    for module_info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_"):
            continue
        # Skip modules whose figures cannot match any requested prefix.
        if prefixes and not any(
            p.split(".")[0] == module_info.name or module_info.name.startswith(p) for p in prefixes
        ):
            continue
        module = importlib.import_module(f"bench.{module_info.name}")
        for figure in module.figures():
            if not prefixes or any(figure.name.startswith(p) for p in prefixes):
                print(figure.to_json(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
