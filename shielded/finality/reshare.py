"""Resharing at an epoch change: the next validator set gets fresh shares of the same x.

Each old validator i in the dealing set deals its own share x_i with a fresh polynomial of
degree t' - 1 for the n' new validators; its dealing must open to g^f_i(0) = y_i, its old
public share. With QUAL the qualified old dealers (at least t of them) and lambda_i their
Lagrange coefficients at zero,

    x'_j = sum_{i in QUAL} lambda_i f_i(j + 1),  y'_j = prod_i V_i,j+1 ^ lambda_i,
    Y' = prod_i y_i ^ lambda_i = Y,

so the group key is unchanged while the new shares lie on an independent random polynomial:
old shares cannot be combined with new ones (proactive secret sharing, Herzberg et al. 1995).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from shielded.finality.dkg import KeyingOutcome
from shielded.finality.errors import DuplicateIndex, SharingError, ensure
from shielded.finality.group import Scalar
from shielded.finality.keys import EpochKeys, KeyShare, evaluation_point, threshold_for
from shielded.finality.lagrange import lagrange_at_zero
from shielded.finality.simulation import DealerFaults, simulate_round
from shielded.finality.vss import SharingRound, combined_secret


def reshare_round(old_keys: EpochKeys, new_count: int) -> SharingRound:
    """The public record of a reshare from `old_keys`' set to `new_count` validators."""
    return SharingRound(
        dealer_count=old_keys.validator_count,
        recipient_count=new_count,
        threshold=threshold_for(new_count),
        expected_secrets=dict(enumerate(old_keys.public_shares)),
    )


def reshare_weights(sharing: SharingRound, old_threshold: int) -> dict[int, int]:
    """lambda_i at zero over the qualified old dealers (at least the old t of them)."""
    qualified = sharing.qualified()
    ensure(
        len(qualified) >= old_threshold,
        SharingError,
        f"only {len(qualified)} qualified old validators, need {old_threshold}",
    )
    lambdas = lagrange_at_zero([evaluation_point(i) for i in qualified])
    return dict(zip(qualified, lambdas, strict=True))


def reshare_keys(sharing: SharingRound, old_keys: EpochKeys) -> EpochKeys:
    """Y' = prod_i y_i^lambda_i (must equal Y) and y'_j = prod_i V_i,j+1 ^ lambda_i."""
    group_key, public_shares = sharing.combine(reshare_weights(sharing, old_keys.threshold))
    ensure(group_key == old_keys.group_key, SharingError, "resharing would change the group key Y")
    return EpochKeys(group_key, public_shares)


def reshare_share(
    recipient: int, shares: Mapping[int, Scalar], weights: Mapping[int, int]
) -> KeyShare:
    """x'_j = sum_{i in QUAL} lambda_i f_i(j + 1) from the qualified old dealers' shares."""
    return KeyShare(recipient, combined_secret((weights[d], s) for d, s in shares.items()))


def run_reshare(
    old_keys: EpochKeys,
    old_shares: Sequence[KeyShare],
    new_count: int,
    faults: DealerFaults | None = None,
) -> KeyingOutcome:
    """Reshare the group secret from the holders of `old_shares` to `new_count` validators.

    Raises SharingError if fewer than the old threshold qualify or if Y would change.
    """
    ensure(new_count >= 1, SharingError, "the new validator set is empty")
    dealt: dict[int, int] = {}
    for share in old_shares:
        ensure(share.index not in dealt, DuplicateIndex, f"old share {share.index} given twice")
        dealt[share.index] = share.secret.value
    sharing = reshare_round(old_keys, new_count)
    received = simulate_round(sharing, dealt, faults)
    keys = reshare_keys(sharing, old_keys)
    weights = reshare_weights(sharing, old_keys.threshold)
    shares = tuple(reshare_share(j, received[j], weights) for j in range(new_count))
    return KeyingOutcome(keys, shares, sharing.qualified(), dict(sharing.disqualified))
