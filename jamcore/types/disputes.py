"""psi: the judgement records of disputes (graypaper eq. 10.1)."""

from __future__ import annotations

from dataclasses import dataclass

from jamcore.codec import HASH, Struct, seq


@dataclass(frozen=True)
class DisputesRecords:
    """psi = (psi_G, psi_B, psi_W, psi_O): reports judged good, bad, wonky, and the
    ed25519 keys of offenders (eq. 10.1), each kept sorted."""

    good: tuple[bytes, ...]
    bad: tuple[bytes, ...]
    wonky: tuple[bytes, ...]
    offenders: tuple[bytes, ...]


DISPUTES_RECORDS = Struct(
    DisputesRecords,
    {"good": seq(HASH), "bad": seq(HASH), "wonky": seq(HASH), "offenders": seq(HASH)},
)
"""C(5): E(↕psi_G, ↕psi_B, ↕psi_W, ↕psi_O) (eq. D.2)."""
