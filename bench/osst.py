"""OSST finality benchmarks: contributing, verifying certificates, DKG and resharing.

`verify_*_ms` start from the certificate's bytes, so they include decoding and the subgroup
check of every commitment, then eq. 3.3 with one MSM; `verify_*_decoded_ms` start from a
freshly decoded certificate (commitments checked when the votes arrived). The 1023-validator
keys come from a single Feldman dealing (the DKG's output has the same shape: Y, y_1..y_n).
The DKG figure runs every party of the genesis DKG in this one process, at the largest size
that fits in about half a minute here (named in the figure).
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Iterator

from bench import Figure, best_seconds, rate
from shielded.finality.certificate import Certificate, aggregate, verify_certificate
from shielded.finality.contribution import FinalityPayload, Vote, contribute
from shielded.finality.dkg import run_dkg
from shielded.finality.group import GROUP_ORDER
from shielded.finality.keys import EpochKeys, KeyShare, threshold_for
from shielded.finality.reshare import run_reshare
from shielded.finality.vss import deal

DKG_SIZE = 256
PAYLOAD = FinalityPayload(bytes(32), 1234, bytes(range(32)))


def _dealt_keys(validator_count: int) -> tuple[EpochKeys, list[KeyShare]]:
    threshold = threshold_for(validator_count)
    dealing, shares = deal(0, secrets.randbelow(GROUP_ORDER), threshold, validator_count)
    keys = EpochKeys(dealing.commitments[0], dealing.commitments[1:])
    return keys, [KeyShare(i, s) for i, s in enumerate(shares)]


def _verify_ms(validator_count: int, repeats: int) -> tuple[float, float]:
    """Best-of-`repeats` verification times in ms: (from bytes, from a decoded certificate)."""
    keys, shares = _dealt_keys(validator_count)
    chosen = sorted(random.sample(shares, threshold_for(validator_count)), key=lambda s: s.index)
    votes = [Vote(PAYLOAD, contribute(share, PAYLOAD)) for share in chosen]
    encoded = aggregate(PAYLOAD, votes, validator_count).encode()
    from_bytes = decoded = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        certificate = Certificate.decode(encoded)  # fresh: no cached point coordinates
        middle = time.perf_counter()
        verify_certificate(certificate, keys.group_key, validator_count)
        end = time.perf_counter()
        from_bytes = min(from_bytes, end - start)
        decoded = min(decoded, end - middle)
    return 1000 * from_bytes, 1000 * decoded


def figures() -> Iterator[Figure]:
    keys, shares = _dealt_keys(6)
    yield Figure("osst.contribute_per_s", rate(lambda: contribute(shares[0], PAYLOAD)), "1/s")
    small, small_decoded = _verify_ms(6, repeats=20)
    yield Figure("osst.verify_5_of_6_ms", small, "ms")
    yield Figure("osst.verify_5_of_6_decoded_ms", small_decoded, "ms")
    large, large_decoded = _verify_ms(1023, repeats=5)
    yield Figure("osst.verify_683_of_1023_ms", large, "ms")
    yield Figure("osst.verify_683_of_1023_decoded_ms", large_decoded, "ms")
    genesis = run_dkg(6)
    yield Figure(
        "osst.reshare_6_s",
        best_seconds(lambda: run_reshare(genesis.keys, genesis.shares, 6), repeats=3),
        "s",
    )
    start = time.perf_counter()
    run_dkg(DKG_SIZE)
    yield Figure(f"osst.dkg_{DKG_SIZE}_s", time.perf_counter() - start, "s")
