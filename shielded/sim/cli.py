"""`shielded simulate`: arguments and the run function (design section 7).

`add_simulate_arguments(parser)` adds the options to the `simulate` subparser and
`run_simulate(args)` runs them, returning the exit status: 0 done, 1 a run failed, 2 bad
parameters or a missing optional dependency, 3 calibration not possible on that directory.

    shielded simulate --users 100000 --epochs 500 --policy ephemeral --lifetime 16
    shielded simulate --sweep lifetime=4,8,16 --format csv --out results/
    shielded simulate --sweep policy=permanent,ephemeral --chart --out results/
    shielded simulate --set pay_rate=0.2 --set renew_rate=0.99
    shielded simulate --calibrate --dir devnet/
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from shielded.sim.errors import SimulationError, ensure
from shielded.sim.params import Policy, SimulationParams, coerce, default_value, sweepable

EXIT_BAD_INPUT = 2
EXIT_UNAVAILABLE = 3


def add_simulate_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `simulate` options to `parser`."""
    parser.add_argument("--users", type=int, default=default_value("users"), help="user slots")
    parser.add_argument(
        "--epochs", type=int, default=default_value("epochs"), help="epochs to simulate"
    )
    parser.add_argument(
        "--policy",
        choices=[p.value for p in Policy],
        default=default_value("policy").value,
        help="permanent-only (today's pools) or ephemeral notes with lifetime N",
    )
    parser.add_argument(
        "--lifetime", type=int, default=default_value("lifetime"), help="N: ephemeral note lifetime"
    )
    parser.add_argument("--seed", type=int, default=default_value("seed"), help="random seed")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PARAM=VALUE",
        help=f"set a behaviour parameter (repeatable): one of {', '.join(sweepable())}",
    )
    parser.add_argument(
        "--sweep", metavar="PARAM=a,b,c", help="run once per value of one parameter"
    )
    parser.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="sweep in local processes or on Ray",
    )
    parser.add_argument("--workers", type=int, help="local sweep processes (default: CPUs)")
    parser.add_argument("--out", type=Path, help="write results.csv/.json (and PNG) here")
    parser.add_argument(
        "--format", choices=("table", "json", "csv"), default="table", help="stdout format"
    )
    parser.add_argument(
        "--chart",
        action="store_true",
        help="terminal chart of state bytes (plotext); with --out also state-bytes.png",
    )
    parser.add_argument(
        "--calibrate", action="store_true", help="compare the model with a running devnet"
    )
    parser.add_argument("--dir", type=Path, help="devnet directory for --calibrate")
    parser.add_argument(
        "--calibration-users", type=int, default=4, help="simulated users driven on the devnet"
    )


def params_from_args(args: argparse.Namespace) -> SimulationParams:
    """The base parameters of the command line; SimulationError names a bad one."""
    changes: dict[str, object] = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        ensure(bool(sep), f"--set {item!r}: expected PARAM=VALUE")
        changes[name.strip()] = coerce(name.strip(), value.strip())
    return SimulationParams(
        users=args.users,
        epochs=args.epochs,
        policy=Policy(args.policy),
        lifetime=args.lifetime,
        seed=args.seed,
    ).replace(**changes)


def run_simulate(args: argparse.Namespace) -> int:
    """Run `shielded simulate` as parsed by `add_simulate_arguments`; returns the exit status."""
    if args.calibrate:
        return _calibrate(args)
    from shielded.sim import report
    from shielded.sim.model import simulate
    from shielded.sim.sweep import parse_sweep, run_sweep, sweep_params

    try:
        base = params_from_args(args)
        varied = None
        if args.sweep:
            varied, values = parse_sweep(args.sweep)
            results = run_sweep(sweep_params(base, varied, values), args.engine, args.workers)
        else:
            results = [simulate(base)]
        if args.format == "json":
            print(json.dumps(report.to_json(results)))
        elif args.format == "csv":
            print(report.to_csv(results, varied), end="")
        elif len(results) == 1:
            print(report.epoch_table(results[0]))
        else:
            print(report.summary_table(results, varied))
        if args.chart:
            print(report.terminal_chart(results, varied=varied))
        if args.out is not None:
            written = report.write_files(results, args.out, varied)
            if args.chart:
                written.append(
                    report.save_png(results, args.out / "state-bytes.png", varied=varied)
                )
            print("wrote " + ", ".join(str(path) for path in written), file=sys.stderr)
    except SimulationError as error:
        print(f"shielded simulate: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from shielded.sim.calibrate import CalibrationUnavailable, calibrate, format_report

    if args.dir is None:
        print("shielded simulate: --calibrate needs --dir DEVNET_DIR", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.calibration_users < 1:
        print(
            f"shielded simulate: --calibration-users {args.calibration_users}: expected >= 1",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    try:
        before, after, comparisons = calibrate(args.dir, users=args.calibration_users)
    except CalibrationUnavailable as error:
        print(f"shielded simulate --calibrate: {error}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    print(format_report(before, after, comparisons))
    return 0
