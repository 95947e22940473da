"""Distributed key generation at genesis (Pedersen's DKG over Feldman VSS with complaints).

Every validator d deals a random secret z_d with `vss.deal`; after the complaint round the
qualified set QUAL remains and

    x_j = sum_{d in QUAL} f_d(j + 1),  y_j = g^x_j = prod_{d in QUAL} V_d,j+1,
    Y = g^x = prod_{d in QUAL} V_d,0,

so nobody ever knows x = sum z_d, while any t shares interpolate it (design.md section 4).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from shielded.finality.errors import SharingError, ensure
from shielded.finality.group import GROUP_ORDER, Scalar
from shielded.finality.keys import EpochKeys, KeyShare, threshold_for
from shielded.finality.simulation import DealerFaults, simulate_round
from shielded.finality.vss import SharingRound, combined_secret


@dataclass(frozen=True)
class KeyingOutcome:
    """The result of a DKG or reshare: public keys, every new share (simulation), QUAL."""

    keys: EpochKeys
    shares: tuple[KeyShare, ...]
    qualified: tuple[int, ...]
    disqualified: Mapping[int, str]


def dkg_keys(sharing: SharingRound) -> EpochKeys:
    """Y = prod_{d in QUAL} V_d,0 and y_j = prod_{d in QUAL} V_d,j+1."""
    group_key, public_shares = sharing.combine({d: 1 for d in sharing.qualified()})
    return EpochKeys(group_key, public_shares)


def dkg_share(recipient: int, shares: Mapping[int, Scalar]) -> KeyShare:
    """x_j = sum_{d in QUAL} f_d(j + 1) from the shares of the qualified dealers."""
    return KeyShare(recipient, combined_secret((1, s) for s in shares.values()))


def run_dkg(validator_count: int, faults: DealerFaults | None = None) -> KeyingOutcome:
    """Run the whole DKG for `validator_count` validators in one process.

    Needs at least t = floor(2V/3) + 1 qualified dealers, else SharingError.
    """
    ensure(validator_count >= 1, SharingError, "a DKG needs at least one validator")
    threshold = threshold_for(validator_count)
    sharing = SharingRound(validator_count, validator_count, threshold)
    dealt = {d: secrets.randbelow(GROUP_ORDER - 1) + 1 for d in range(validator_count)}
    received = simulate_round(sharing, dealt, faults)
    qualified = sharing.qualified()
    ensure(
        len(qualified) >= threshold,
        SharingError,
        f"only {len(qualified)} qualified dealers, need {threshold}",
    )
    keys = dkg_keys(sharing)
    shares = tuple(dkg_share(j, received[j]) for j in range(validator_count))
    return KeyingOutcome(keys, shares, qualified, dict(sharing.disqualified))
