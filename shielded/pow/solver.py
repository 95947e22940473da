"""Solving spam proofs: a single-core search and a multi-core one, with progress and cancel.

A solver tries nonces until `work_hash(anchor, tx_id, nonce)` has the tier's leading zero bits
(design section 3); 2^bits attempts are expected. The nonce space is split into chunks of
CHUNK_NONCES consecutive nonces sharing their high seven bytes; the multi-core solver stripes
chunks across worker processes (worker i takes chunks i, i + W, i + 2W, ...), so no two
workers try the same nonce and no coordination is needed besides a stop signal. Progress
(hashes done, expected remaining, rate) is reported through a callback at most every
`progress_interval` seconds; cancellation is a `threading.Event` (or anything with
`is_set()`) checked between chunks. Every result is re-verified with `check_work` before it
is returned, so a solver bug can never hand out an invalid proof.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import time
from collections.abc import Callable, MutableSequence
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from typing import Any, Protocol

from blake3 import blake3

from shielded.pow.errors import MalformedProof, SolveCancelled, SpamProofError
from shielded.pow.work import DOMAIN, HASH_BYTES, MAX_TIER, SpamProof, check_work, target_for

CHUNK_HIGHS = 64
"""High-seven-byte values per chunk; each covers 256 nonces (one per last byte)."""
CHUNK_NONCES = CHUNK_HIGHS * 256
"""Nonces per chunk: the unit of striping, progress and cancellation (~10 ms of work)."""
_LOW_BYTES = tuple(bytes([low]) for low in range(256))
_MAX_CHUNK = (2**56) // CHUNK_HIGHS


class CancelSignal(Protocol):
    """Anything that says whether the caller wants the search stopped."""

    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class SolveProgress:
    """How far a search has come: `expected_remaining` = max(0, 2^bits - hashes_done)."""

    hashes_done: int
    expected_total: int
    expected_remaining: int
    rate_per_s: float
    elapsed_s: float


ProgressCallback = Callable[[SolveProgress], None]


def _progress(done: int, bits: int, started: float) -> SolveProgress:
    elapsed = time.perf_counter() - started
    expected = 1 << bits
    return SolveProgress(
        hashes_done=done,
        expected_total=expected,
        expected_remaining=max(0, expected - done),
        rate_per_s=done / elapsed if elapsed > 0 else 0.0,
        elapsed_s=elapsed,
    )


def _search_chunk(base: blake3, target: bytes, chunk: int) -> int | None:
    """The first nonce of `chunk` whose work is below `target`, or None.

    `base` has absorbed DOMAIN || anchor || tx_id; per high value the seven high nonce bytes
    are absorbed once and each attempt only feeds the last byte.
    """
    first_high = chunk * CHUNK_HIGHS
    for high in range(first_high, first_high + CHUNK_HIGHS):
        prefixed = base.copy()
        prefixed.update(high.to_bytes(7, "big"))
        attempt = prefixed.copy
        for low in _LOW_BYTES:
            if attempt().update(low).digest() < target:
                return (high << 8) | low[0]
    return None


def _checked_inputs(anchor: bytes, tx_id: bytes, bits: int, tier: int = 1) -> tuple[blake3, bytes]:
    if not (isinstance(tier, int) and 1 <= tier <= MAX_TIER):
        raise MalformedProof(f"tier {tier!r}: expected an integer in 1..{MAX_TIER}")
    for label, value in (("anchor", anchor), ("tx_id", tx_id)):
        if not (isinstance(value, bytes) and len(value) == HASH_BYTES):
            raise MalformedProof(f"{label} {value!r}: expected 32 bytes")
    if not (isinstance(bits, int) and 1 <= bits <= 64):
        raise MalformedProof(f"difficulty {bits!r} bits: expected 1..64")
    return blake3(DOMAIN + anchor + tx_id), target_for(bits)


def solve(
    anchor: bytes,
    tx_id: bytes,
    bits: int,
    *,
    tier: int = 1,
    first_chunk: int = 0,
    progress: ProgressCallback | None = None,
    cancel: CancelSignal | None = None,
    progress_interval: float = 0.25,
) -> SpamProof:
    """Find a tier-`tier` spam proof of `bits` leading zeros on the calling core (design §3).

    Searches chunks from `first_chunk` upward; raises SolveCancelled when `cancel` is set.
    """
    base, target = _checked_inputs(anchor, tx_id, bits, tier)
    started = time.perf_counter()
    last_report = started
    done = 0
    for chunk in range(first_chunk, _MAX_CHUNK):
        if cancel is not None and cancel.is_set():
            raise SolveCancelled(f"solving tx {tx_id.hex()} cancelled after {done} hashes")
        nonce = _search_chunk(base, target, chunk)
        if nonce is not None:
            done += nonce - chunk * CHUNK_NONCES + 1
            if progress is not None:
                progress(_progress(done, bits, started))
            return _verified(anchor, tx_id, nonce, tier, bits)
        done += CHUNK_NONCES
        if progress is not None and time.perf_counter() - last_report >= progress_interval:
            last_report = time.perf_counter()
            progress(_progress(done, bits, started))
    raise SpamProofError(f"no nonce of tx {tx_id.hex()} reaches {bits} bits")


def _verified(anchor: bytes, tx_id: bytes, nonce: int, tier: int, bits: int) -> SpamProof:
    proof = SpamProof(anchor=anchor, tx_id=tx_id, nonce=nonce, tier=tier)
    check_work(proof, bits)
    return proof


def _worker(
    index: int,
    workers: int,
    anchor: bytes,
    tx_id: bytes,
    bits: int,
    counts: MutableSequence[int],
    results: Any,
    stop: CancelSignal,
) -> None:
    """Worker process: search chunks index, index + workers, ... until found or stopped."""
    base, target = _checked_inputs(anchor, tx_id, bits)
    chunk = index
    while not stop.is_set() and chunk < _MAX_CHUNK:
        nonce = _search_chunk(base, target, chunk)
        if nonce is not None:
            counts[index] += nonce - chunk * CHUNK_NONCES + 1
            results.put(nonce)
            return
        counts[index] += CHUNK_NONCES
        chunk += workers


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def solve_parallel(
    anchor: bytes,
    tx_id: bytes,
    bits: int,
    *,
    tier: int = 1,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelSignal | None = None,
    progress_interval: float = 0.25,
    context: BaseContext | None = None,
) -> SpamProof:
    """Find a spam proof using `workers` processes (default: every core) (design §3).

    Chunks are striped across workers; the first nonce found is re-verified and returned.
    With one worker the search runs in the calling process (same result as `solve`).
    Raises SolveCancelled when `cancel` is set. Workers are started with the `spawn` method
    by default, which is safe in threaded callers (wallet UIs); pass `context` to change it.
    """
    _checked_inputs(anchor, tx_id, bits, tier)
    workers = default_workers() if workers is None else workers
    if workers < 1:
        raise MalformedProof(f"workers {workers}: expected >= 1")
    if workers == 1:  # one core: search in this process, no start-up cost
        return solve(
            anchor,
            tx_id,
            bits,
            tier=tier,
            progress=progress,
            cancel=cancel,
            progress_interval=progress_interval,
        )
    ctx = context if context is not None else multiprocessing.get_context("spawn")
    counts = ctx.Array("Q", workers, lock=False)
    results = ctx.Queue()
    stop = ctx.Event()
    processes = [
        ctx.Process(
            target=_worker,
            args=(index, workers, anchor, tx_id, bits, counts, results, stop),
            daemon=True,
            name=f"spam-proof-solver-{index}",
        )
        for index in range(workers)
    ]
    started = time.perf_counter()
    for process in processes:
        process.start()
    try:
        while True:
            if cancel is not None and cancel.is_set():
                raise SolveCancelled(
                    f"solving tx {tx_id.hex()} cancelled after {sum(counts)} hashes"
                )
            try:
                nonce = results.get(timeout=max(progress_interval, 0.01))
            except queue.Empty:
                if not any(process.is_alive() for process in processes) and results.empty():
                    raise SpamProofError(
                        f"solver workers for tx {tx_id.hex()} exited without a proof"
                    ) from None
                if progress is not None:
                    progress(_progress(sum(counts), bits, started))
                continue
            if progress is not None:
                progress(_progress(sum(counts), bits, started))
            return _verified(anchor, tx_id, nonce, tier, bits)
    finally:
        stop.set()
        for process in processes:
            process.join(timeout=2.0)
            if process.is_alive():
                process.terminate()
                process.join()
        results.close()
        results.join_thread()
