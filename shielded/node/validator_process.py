"""What every validator process does besides its chain: score peers, keep connected, keep
time, and start from the command line.

`jam_node.py` uses these; they know nothing of the chain's rules.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

from shielded.node.genesis import GenesisConfig
from shielded.node.p2p import Network, Peer

log = logging.getLogger("shielded.validator")

RECONNECT_SECONDS = 1.0
MALFORMED_PENALTY = 5
"""Score for bytes that do not even decode: an honest peer never sends them."""
INVALID_PENALTY = 2
"""Score for a well-formed block or vote that fails its checks (may be a race or a fork)."""
BAN_SCORE = 20
BAN_SECONDS = 60


class PeerScores:
    """Scores peers down for bad input; past BAN_SCORE one is disconnected and refused for
    BAN_SECONDS."""

    def __init__(self) -> None:
        self.faults: dict[bytes, int] = {}
        self.banned: dict[bytes, float] = {}

    def penalize(self, peer: Peer, reason: str, weight: int) -> None:
        score = self.faults.get(peer.key, 0) + weight
        self.faults[peer.key] = score
        log.warning("peer %s: %s (score %d)", peer.key.hex()[:12], reason, score)
        if score >= BAN_SCORE:
            self.banned[peer.key] = time.time() + BAN_SECONDS
            self.faults[peer.key] = 0
            log.warning("peer %s banned for %ds", peer.key.hex()[:12], BAN_SECONDS)
            peer.close()

    def is_banned(self, key: bytes) -> bool:
        until = self.banned.get(key)
        if until is None:
            return False
        if until < time.time():
            del self.banned[key]
            return False
        return True


async def keep_connected(
    network: Network, config: GenesisConfig, index: int, paused: Callable[[], bool]
) -> None:
    """Keep a connection to every other validator (the lower index dials), except while
    `paused` (fault injection: a partition)."""
    while True:
        if not paused():
            for other in config.validators:
                key = bytes.fromhex(other.ed25519)
                if other.index <= index or key in network.peers:
                    continue
                try:
                    await network.connect("127.0.0.1", other.p2p_port)
                except Exception as error:  # peer not up yet, or it refused us
                    log.debug("dial %d failed: %s", other.index, error)
        await asyncio.sleep(RECONNECT_SECONDS)


async def every_slot(config: GenesisConfig, on_slot: Callable[[int], Awaitable[None]]) -> None:
    """Call `on_slot(slot)` at the start of each slot; a failing slot is logged, not fatal."""
    while True:
        now = time.time()
        next_start = config.genesis_time + (config.slot_at(now) + 1) * config.slot_duration
        await asyncio.sleep(max(0.0, next_start - now))
        slot = config.slot_at(time.time() + 0.01)
        try:
            await on_slot(slot)
        except Exception:
            log.exception("slot %d failed", slot)


class Runnable(Protocol):
    async def run(self) -> None: ...

    def stop(self) -> None: ...


def run_validator(
    description: str,
    make: Callable[[Path, int], Runnable],
    startup_errors: tuple[type[Exception], ...],
) -> None:
    """`python -m ... --dir D --index I`: build the validator with `make` (a clear log line
    and exit code 2 for `startup_errors`, e.g. another devnet's store), run it until SIGTERM
    or SIGINT."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--index", required=True, type=int)
    args = parser.parse_args()
    logging.basicConfig(
        level=os.environ.get("JAM_LOG_LEVEL", "INFO").upper(),
        format=f"%(asctime)s v{args.index} %(levelname)s %(message)s",
    )
    try:
        node = make(args.dir, args.index)
    except startup_errors as error:
        log.error("validator %d refuses to start: %s", args.index, error)
        raise SystemExit(2) from None

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, node.stop)
        try:
            await node.run()
        except OSError as error:  # e.g. its port is taken
            log.error("validator %d stops: %s", args.index, error)
            raise SystemExit(2) from None

    asyncio.run(run())
