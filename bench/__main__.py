"""Run every benchmark module in `bench/` and print one JSON line per figure."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback

import bench


def main(prefixes: list[str]) -> int:
    failed = []
    for module_info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_"):
            continue
        # Skip modules whose figures cannot match any requested prefix.
        if prefixes and not any(
            p.split(".")[0] == module_info.name or module_info.name.startswith(p) for p in prefixes
        ):
            continue
        try:
            module = importlib.import_module(f"bench.{module_info.name}")
            for figure in module.figures():
                # A module named outright prints all its figures (`bench node_jam`).
                if (
                    not prefixes
                    or module_info.name in prefixes
                    or any(figure.name.startswith(p) for p in prefixes)
                ):
                    print(figure.to_json(), flush=True)
        except Exception:  # one broken benchmark must not hide the others' figures
            print(f"bench: {module_info.name} failed:", file=sys.stderr)
            traceback.print_exc()
            failed.append(module_info.name)
    if failed:
        print(f"bench: failed modules: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
