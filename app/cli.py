"""The `shielded` command: devnet, demo, wallet, simulate.

Each subcommand's implementation is imported when it runs; parsing stays fast.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from collections.abc import Sequence

from shielded import __version__


def _devnet(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from shielded.node import devnet
    from shielded.node.genesis import GenesisError

    directory = Path(args.dir)
    try:
        if args.action == "init":
            config = devnet.init(directory, args.validators, args.slot_duration, args.base_port)
            print(
                f"devnet initialized in {directory}: {config.validators_count} validators, "
                f"{config.slot_duration}s slots, chain id 0x{config.chain_id[:16]}..."
            )
        elif args.action == "up":
            pids = devnet.up(directory, args.only)
            print(f"devnet up: {len(pids)} validators running (logs in {directory}/validators)")
        elif args.action == "down":
            stopped = devnet.down(directory, args.only)
            print(f"devnet down: stopped validators {stopped}")
        elif args.action == "service":
            return _service(directory, args.rest, args.via)
        else:
            rows = devnet.status(directory)
            print(json.dumps(rows, indent=2) if args.json else devnet.format_status(rows))
    except GenesisError as error:
        print(f"shielded devnet: {error}", file=sys.stderr)
        return 1
    return 0


SERVICE_USAGE = (
    "usage: shielded devnet service deploy BLOB|sample | submit ID PAYLOAD | get ID KEY"
)


def _service(directory: pathlib.Path, rest: list[str], via: int) -> int:
    """`shielded devnet service ...`: PVM services on a running devnet."""
    from shielded.node import devnet_services as services

    try:
        if len(rest) == 2 and rest[0] == "deploy":
            service = services.deploy(directory, services.read_blob(rest[1]), via)
            print(f"service {service} deployed: its code is on chain, run in the PVM")
        elif len(rest) == 3 and rest[0] == "submit":
            services.submit(directory, int(rest[1]), services.parse_payload(rest[2]), via)
            print(f"work package for service {rest[1]} sent")
        elif len(rest) == 3 and rest[0] == "get":
            value = services.item(directory, int(rest[1]), services.parse_payload(rest[2]), via)
            print("none" if value is None else "0x" + value.hex())
        else:
            print(SERVICE_USAGE, file=sys.stderr)
            return 2
    except (services.ServiceCommandError, ValueError) as error:
        print(f"shielded devnet service: {error}", file=sys.stderr)
        return 1
    return 0


def _demo(args: argparse.Namespace) -> int:
    from app.demo import run_demo

    return run_demo(args.validators, args.slot_duration, args.keep, args.json)


def _wallet(args: argparse.Namespace) -> int:
    from wallet.cli import run_wallet

    return run_wallet(args)


def _simulate(args: argparse.Namespace) -> int:
    from shielded.sim.cli import run_simulate

    return run_simulate(args)


def _jam(args: argparse.Namespace) -> int:
    from shielded.jam_cli import run_jam

    return run_jam(args)


JAM_FLAG_HELP = argparse.SUPPRESS
"""`--jam` is accepted and changes nothing: the validators always run on jamcore's block
importer now (the flag chose that program while the node had a chain of its own)."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every `shielded` subcommand."""
    parser = argparse.ArgumentParser(
        prog="shielded",
        description="A shielded-pool application chain on JAM.",
    )
    parser.add_argument("--version", action="version", version=f"shielded {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    devnet = commands.add_parser("devnet", help="run a private devnet of validator processes")
    devnet.add_argument("action", choices=["init", "up", "status", "down", "service"])
    devnet.add_argument(
        "rest", nargs="*", help="service: deploy BLOB|sample, submit ID PAYLOAD, get ID KEY"
    )
    devnet.add_argument(
        "--via", type=int, default=0, help="service: the validator whose RPC to use (default 0)"
    )
    devnet.add_argument("--dir", default="devnet", help="devnet directory (default: ./devnet)")
    devnet.add_argument("--validators", type=int, default=6, help="validators (init; default 6)")
    devnet.add_argument(
        "--slot-duration", type=float, default=6.0, help="seconds per slot (init; default 6)"
    )
    devnet.add_argument(
        "--base-port", type=int, default=30333, help="first localhost port (init; default 30333)"
    )
    devnet.add_argument(
        "--only", type=int, action="append", help="act on this validator index only (repeatable)"
    )
    devnet.add_argument("--json", action="store_true", help="machine-readable status")
    devnet.add_argument("--jam", action="store_true", help=JAM_FLAG_HELP)
    devnet.set_defaults(run=_devnet)

    demo = commands.add_parser(
        "demo", help="start a throwaway devnet and drive two wallets through the pool"
    )
    demo.add_argument("--validators", type=int, default=6, help="validators (default 6)")
    demo.add_argument(
        "--slot-duration", type=float, default=2.0, help="seconds per slot (default 2)"
    )
    demo.add_argument("--keep", action="store_true", help="keep the devnet directory")
    demo.add_argument("--jam", action="store_true", help=JAM_FLAG_HELP)
    demo.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    demo.set_defaults(run=_demo)

    from wallet.cli import add_wallet_arguments

    wallet = commands.add_parser("wallet", help="the terminal wallet (TUI without arguments)")
    add_wallet_arguments(wallet)
    wallet.set_defaults(run=_wallet)

    from shielded.sim.cli import add_simulate_arguments

    simulate = commands.add_parser("simulate", help="simulate dust and state growth")
    add_simulate_arguments(simulate)
    simulate.set_defaults(run=_simulate)

    from shielded.jam_cli import add_jam_arguments

    jam = commands.add_parser("jam", help="JAM conformance: import traces, serve the fuzzer")
    add_jam_arguments(jam)
    jam.set_defaults(run=_jam)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `shielded` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return int(args.run(args))


if __name__ == "__main__":
    raise SystemExit(main())
