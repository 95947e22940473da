"""Erasure-coding benchmarks: full-size (342:1023) coding of 4104-octet segments."""

from __future__ import annotations

import random
from collections.abc import Iterator

from bench import Figure, rate
from jamcore.erasure import (
    SEGMENT_SIZE,
    encode_segment,
    encode_segments,
    erasure_code,
    recover_segment,
)
from jamcore.spec import FULL


def figures() -> Iterator[Figure]:
    segment = random.Random(0).randbytes(SEGMENT_SIZE)
    megabytes = SEGMENT_SIZE / 1e6
    yield Figure(
        "erasure.encode_mb_per_s", rate(lambda: encode_segment(segment, FULL)) * megabytes, "MB/s"
    )
    # Exporting many segments at once codes them as extra columns of one transform.
    batch = [random.Random(number).randbytes(SEGMENT_SIZE) for number in range(64)]
    yield Figure(
        "erasure.encode_batch64_mb_per_s",
        rate(lambda: encode_segments(batch, FULL)) * megabytes * len(batch),
        "MB/s",
    )
    # Parity-heavy recovery: all but 10 of the chosen shards are parity, so 332 of the 342
    # data shards must be rebuilt (the recovery matrix for this subset is cached after the
    # first call, as it is for a node recovering many segments from the same validators).
    shards = encode_segment(segment, FULL)
    code = erasure_code(FULL)
    chosen = list(range(10)) + list(range(code.total_shards - code.data_shards + 10, 1023))
    survivors = {index: shards[index] for index in chosen}
    assert recover_segment(survivors, FULL) == segment
    yield Figure(
        "erasure.recover_mb_per_s",
        rate(lambda: recover_segment(survivors, FULL)) * megabytes,
        "MB/s",
    )
