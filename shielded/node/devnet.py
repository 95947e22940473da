"""`shielded devnet init|up|status|down`: a private devnet of validator processes on localhost.

`up` starts one OS process per validator that is not already running (so it also restarts
validators that crashed or were killed), logging to `validators/<i>/node.log`; their process
ids are kept in `pids.json`. `status` asks each validator's RPC for its head, final block
and peers. `down` stops them (SIGTERM, then SIGKILL after a grace period).
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from shielded.node.genesis import GenesisConfig, create_devnet, load_genesis

STOP_GRACE_SECONDS = 5.0


def pids_path(directory: Path) -> Path:
    return directory / "pids.json"


def running_pids(directory: Path) -> dict[int, int]:
    """Validator index -> pid of the validators of this devnet that are alive."""
    try:
        recorded = json.loads(pids_path(directory).read_text())
    except (FileNotFoundError, ValueError):
        return {}
    alive = {}
    for index, pid in recorded.items():
        if _alive(int(pid)):
            alive[int(index)] = int(pid)
    return alive


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as dead
        finished, _ = os.waitpid(pid, os.WNOHANG)
        return finished == 0
    except ChildProcessError:
        return True


EPHEMERAL_PORT_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def ephemeral_port_low() -> int:
    """The lowest port the kernel gives outgoing connections (Linux), else IANA's 49152."""
    try:
        return int(EPHEMERAL_PORT_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 49_152


def free_base_port(count: int, low: int = 10_000, high: int | None = None) -> int:
    """A base port with `count` consecutive free ports on 127.0.0.1 (for throwaway devnets).

    By default the ports lie below the kernel's ephemeral range: there an outgoing
    connection (an RPC poll, a peer dial) could take a port between this probe and the
    validator's bind, and the validator would fail to start."""
    if high is None:
        high = max(ephemeral_port_low(), low + 2 * count)
    for _ in range(100):
        base = random.randrange(low, high - count, 2)
        sockets: list[socket.socket] = []
        try:
            for port in range(base, base + count):
                probe = socket.socket()
                sockets.append(probe)
                probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for probe in sockets:
                probe.close()
        return base
    raise OSError(f"no {count} consecutive free ports between {low} and {high}")


def wait_until_producing(directory: Path, height: int = 1, timeout: float = 60.0) -> None:
    """Block until every validator is up and has imported block `height`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        rows = status(directory)
        if all(row["state"] == "up" and row["head"]["height"] >= height for row in rows):
            return
        time.sleep(0.5)
    raise TimeoutError(f"the devnet in {directory} did not reach height {height} in {timeout}s")


def init(
    directory: Path,
    validators: int,
    slot_duration: float,
    base_port: int,
    genesis_delay: float = 3.0,
) -> GenesisConfig:
    """A new devnet in `directory` whose slot 0 starts `genesis_delay` seconds from now."""
    return create_devnet(
        directory,
        validators=validators,
        slot_duration=slot_duration,
        base_port=base_port,
        genesis_delay=genesis_delay,
    )


NODE_MODULE = "shielded.node.jam_node"
"""The validator program: blocks imported by jamcore's graypaper transition, the pool a
service in the merklized state, work through guarantees, availability and assurances."""


def up(
    directory: Path,
    only: list[int] | None = None,
    env: dict[str, str] | None = None,
) -> dict[int, int]:
    """Start every validator (or those in `only`) that is not running; returns all pids.

    `env` adds environment variables to the started processes (fault injection:
    JAM_FAULT_EQUIVOCATE=1, JAM_FAULT_PARTITION_UNTIL=<slot>)."""
    config = load_genesis(directory)
    pids = running_pids(directory)
    for validator in config.validators:
        if validator.index in pids or (only is not None and validator.index not in only):
            continue
        log_path = directory / "validators" / str(validator.index) / "node.log"
        log_file = open(log_path, "ab")  # noqa: SIM115 - handed to the child process
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                NODE_MODULE,
                "--dir",
                str(directory),
                "--index",
                str(validator.index),
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
        log_file.close()
        pids[validator.index] = process.pid
    pids_path(directory).write_text(json.dumps({str(k): v for k, v in sorted(pids.items())}))
    return pids


def down(directory: Path, only: list[int] | None = None, hard: bool = False) -> list[int]:
    """Stop running validators (SIGKILL at once with `hard`); returns the indices stopped."""
    pids = running_pids(directory)
    targets = {i: p for i, p in pids.items() if only is None or i in only}
    for pid in targets.values():
        _signal(pid, signal.SIGKILL if hard else signal.SIGTERM)
    deadline = time.time() + STOP_GRACE_SECONDS
    for pid in targets.values():
        while _alive(pid) and time.time() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            _signal(pid, signal.SIGKILL)
    remaining = {i: p for i, p in pids.items() if i not in targets}
    pids_path(directory).write_text(json.dumps({str(k): v for k, v in remaining.items()}))
    return sorted(targets)


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def rpc_call(port: int, method: str, params: Any = None, timeout: float = 2.0) -> Any:
    """One JSON-RPC call to a validator on 127.0.0.1; raises OSError or RuntimeError."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}})
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/", body.encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        answer = json.loads(response.read())
    if "error" in answer:
        raise RuntimeError(answer["error"]["message"])
    return answer["result"]


def status(directory: Path) -> list[dict[str, Any]]:
    """Each validator's status from its RPC, or {'index': i, 'state': 'down'}."""
    config = load_genesis(directory)
    pids = running_pids(directory)
    rows = []
    for validator in config.validators:
        try:
            result = rpc_call(validator.rpc_port, "system_status", timeout=5.0)
            rows.append({"index": validator.index, "state": "up", **result})
        except (OSError, RuntimeError, urllib.error.URLError):
            state = "starting" if validator.index in pids else "down"
            rows.append({"index": validator.index, "state": state})
    return rows


def format_status(rows: list[dict[str, Any]]) -> str:
    lines = [
        f"{'validator':>9}  {'state':<8} {'head':>6} {'final':>6} {'slot':>6} {'peers':>5}  head"
    ]
    for row in rows:
        if row["state"] != "up":
            lines.append(f"{row['index']:>9}  {row['state']:<8}")
            continue
        lines.append(
            f"{row['index']:>9}  {'up':<8} {row['head']['height']:>6} "
            f"{row['finalized']['height']:>6} {row['slot']:>6} {row['peers']:>5}  "
            f"{row['head']['hash'][:18]}"
        )
    return "\n".join(lines)
