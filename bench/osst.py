"""OSST finality benchmarks: contributing, verifying certificates, DKG and resharing.

Verification figures start from the certificate's bytes, so they include decoding and the
subgroup check of every commitment, then eq. 3.3 with one MSM. The 1023-validator keys
come from a single Feldman dealing (same shape as the DKG's output: Y and y_1..y_n);
the DKG figure runs every party of the genesis DKG in this one process, at the largest
size that fits in about half a minute here (named in the figure).
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


def _verify_from_bytes_ms(validator_count: int, repeats: int) -> float:
    keys, shares = _dealt_keys(validator_count)
    chosen = sorted(random.sample(shares, threshold_for(validator_count)), key=lambda s: s.index)
    votes = [Vote(PAYLOAD, contribute(share, PAYLOAD)) for share in chosen]
    encoded = aggregate(PAYLOAD, votes, validator_count).encode()

    def verify() -> None:
        # A fresh decode each time: no cached affine coordinates of the commitments.
        verify_certificate(Certificate.decode(encoded), keys.group_key, validator_count)

    return 1000 * best_seconds(verify, repeats=repeats)


def figures() -> Iterator[Figure]:
    keys, shares = _dealt_keys(6)
    yield Figure("osst.contribute_per_s", rate(lambda: contribute(shares[0], PAYLOAD)), "1/s")
    yield Figure("osst.verify_5_of_6_ms", _verify_from_bytes_ms(6, repeats=20), "ms")
    yield Figure("osst.verify_683_of_1023_ms", _verify_from_bytes_ms(1023, repeats=3), "ms")
    genesis = run_dkg(6)
    yield Figure(
        "osst.reshare_6_s",
        best_seconds(lambda: run_reshare(genesis.keys, genesis.shares, 6), repeats=3),
        "s",
    )
    start = time.perf_counter()
    run_dkg(DKG_SIZE)
    yield Figure(f"osst.dkg_{DKG_SIZE}_s", time.perf_counter() - start, "s")
