"""The `shielded jam` command: conformance tools around jamcore's block importer.

    shielded jam import DIR [--json] [--spec tiny|full]
        Import every trace directory under DIR (w3f/davxy `traces/` layout) and print, per
        trace, the blocks, pass/fail, the first mismatch and mean/p50/max ms per block
        (--json: one JSON object per trace, one per line).
    shielded jam fuzz-target --socket PATH [--spec tiny|full]
        Serve the JAM conformance fuzzer protocol (v1) on a Unix socket until interrupted.

Only the standard library is imported at parse time; the importer loads when a subcommand runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

SPEC_NAMES = ("tiny", "full")


def add_jam_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `jam` subcommands to `parser`."""
    commands = parser.add_subparsers(dest="jam_command", metavar="JAM_COMMAND", required=True)
    trace_import = commands.add_parser(
        "import", help="import the block-import traces under DIR and check every state root"
    )
    trace_import.add_argument("dir", help="a trace directory, or a directory of them")
    trace_import.add_argument("--json", action="store_true", help="one JSON object per trace")
    trace_import.add_argument(
        "--spec", choices=SPEC_NAMES, default="tiny", help="chain spec (default tiny)"
    )
    fuzz_target = commands.add_parser(
        "fuzz-target", help="serve the conformance fuzzer protocol on a Unix socket"
    )
    fuzz_target.add_argument("--socket", required=True, help="the Unix socket path to bind")
    fuzz_target.add_argument(
        "--spec", choices=SPEC_NAMES, default="tiny", help="chain spec (default tiny)"
    )


def _report_json(report: Any) -> dict[str, Any]:
    from jamcore.conformance.runner import timing_summary

    failure = report.first_failure
    first: dict[str, Any] | None = None
    if failure is not None:
        mismatch = failure.mismatch
        first = {
            "step": failure.name,
            "problem": failure.problem,
            "rejection": failure.rejection,
            "expected_root": failure.expected_root.hex() if failure.expected_root else None,
            "computed_root": failure.computed_root.hex() if failure.computed_root else None,
            "key": mismatch.key.hex() if mismatch else None,
            "kind": mismatch.kind if mismatch else None,
            "component": mismatch.component if mismatch else None,
            "fields": list(mismatch.fields) if mismatch else [],
        }
    mismatched = next((step for step in report.steps if step.mismatch is not None), None)
    first_mismatch = None
    if mismatched is not None and mismatched.mismatch is not None:
        first_mismatch = {
            "step": mismatched.name,
            "key": mismatched.mismatch.key.hex(),
            "kind": mismatched.mismatch.kind,
            "component": mismatched.mismatch.component,
            "fields": list(mismatched.mismatch.fields),
        }
    return {
        "trace": str(report.directory),
        "blocks": len(report.steps),
        "passed": report.passed,
        "failures": sum(not step.passed for step in report.steps),
        "rejected": sum(step.rejection is not None for step in report.steps),
        "forks": sum(step.note is not None for step in report.steps),
        "first_failure": first,
        "first_mismatch": first_mismatch,
        **{key: round(value, 3) for key, value in timing_summary(report.timings_ms()).items()},
    }


def _report_text(summary: dict[str, Any]) -> str:
    verdict = "PASS" if summary["passed"] else f"FAIL ({summary['failures']} steps)"
    line = (
        f"{summary['trace']}: {summary['blocks']} blocks, {verdict}, "
        f"mean {summary['mean_ms']:.2f} ms, p50 {summary['p50_ms']:.2f} ms, "
        f"max {summary['max_ms']:.2f} ms per block"
    )
    first = summary["first_failure"]
    if first is not None:
        line += f"\n  first failure at step {first['step']}: {first['problem']}"
        if first["key"] is not None:
            fields = f", fields {', '.join(first['fields'])}" if first["fields"] else ""
            line += (
                f"\n  first differing key: {first['kind']} at 0x{first['key']} "
                f"({first['component']}{fields})"
            )
    mismatch = summary["first_mismatch"]
    if mismatch is not None and (first is None or mismatch["step"] != first["step"]):
        fields = f", fields {', '.join(mismatch['fields'])}" if mismatch["fields"] else ""
        line += (
            f"\n  first root mismatch at step {mismatch['step']}: {mismatch['kind']} at "
            f"0x{mismatch['key']} ({mismatch['component']}{fields})"
        )
    return line


def _import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from jamcore.conformance.runner import load_importer, run_traces, trace_directories
    from jamcore.spec import SPECS

    if not trace_directories(Path(args.dir)):
        print(f"shielded jam import: no trace files under {args.dir}", file=sys.stderr)
        return 2
    try:
        importer = load_importer()
    except ImportError as error:
        print(f"shielded jam import: the block importer is unavailable: {error}", file=sys.stderr)
        return 2
    all_passed = True
    for report in run_traces(Path(args.dir), SPECS[args.spec], importer):
        summary = _report_json(report)
        all_passed &= summary["passed"]
        print(json.dumps(summary) if args.json else _report_text(summary), flush=True)
    return 0 if all_passed else 1


def _fuzz_target(args: argparse.Namespace) -> int:
    import logging

    from jamcore.conformance.fuzz_target import FuzzTargetServer
    from jamcore.spec import SPECS

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        server = FuzzTargetServer(args.socket, SPECS[args.spec])
    except OSError as error:
        print(f"shielded jam fuzz-target: cannot listen on {args.socket}: {error}", file=sys.stderr)
        return 2
    print(f"fuzz target listening on {args.socket} ({args.spec} spec)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


def run_jam(args: argparse.Namespace) -> int:
    """Run the `jam` subcommand selected in `args`."""
    if args.jam_command == "import":
        return _import(args)
    return _fuzz_target(args)
