"""Finality certificates: t contributions for one payload, verified against Y alone.

A certificate is (chain id, slot, header hash, contributions), the contributions sorted by
strictly increasing validator index. It verifies with OSST's equation 3.3
(eprint 2025/722):

    g^(sum_i mu_i s_i) = Y^(prod_i c_i) * prod_i u_i^mu_i,
    mu_i = lambda_i * prod_{j != i} c_j,

checked as one multi-scalar multiplication sum_i mu_i u_i + C Y - S g = 0 with
C = prod c_i and S = sum mu_i s_i. Since mu_i = xi * C / (x_i * delta_i * c_i) (see
`lagrange`), all k exponents come from one batch inversion: O(k) work in Z_l.

When the check fails, `identify_invalid` finds the culprits with the public shares y_i.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from jamcore.codec import Struct, seq
from shielded.finality.contribution import (
    CONTRIBUTION_CODEC,
    PAYLOAD_CODEC,
    Contribution,
    FinalityPayload,
    Vote,
    challenges,
    verify_contribution,
)
from shielded.finality.encoding import decode_strict, encode
from shielded.finality.errors import (
    DuplicateIndex,
    FinalityError,
    InsufficientContributions,
    InvalidCertificate,
    MalformedMessage,
    UnknownIndex,
    WrongPayload,
    ensure,
)
from shielded.finality.group import GENERATOR, GROUP_ORDER, Point
from shielded.finality.keys import MAX_VALIDATORS, EpochKeys, evaluation_point, threshold_for
from shielded.finality.lagrange import batch_inverse, difference_products
from shielded.finality.msm import msm


@dataclass(frozen=True)
class Certificate:
    """A finality certificate: the payload and contributions in increasing index order."""

    payload: FinalityPayload
    contributions: tuple[Contribution, ...]

    @property
    def indices(self) -> tuple[int, ...]:
        return tuple(c.index for c in self.contributions)

    def encode(self) -> bytes:
        """Appendix C encoding: payload, then the length-prefixed contributions."""
        _check_order(self.contributions)
        return encode(CERTIFICATE_CODEC, self, "certificate")

    @classmethod
    def decode(cls, data: bytes) -> Certificate:
        """Strict decoding: canonical points and scalars, strictly increasing indices."""
        certificate = decode_strict(CERTIFICATE_CODEC, data, "certificate")
        _check_order(certificate.contributions)
        return certificate


CERTIFICATE_CODEC = Struct(
    Certificate,
    {
        "payload": PAYLOAD_CODEC,
        "contributions": seq(CONTRIBUTION_CODEC, min_length=1, max_length=MAX_VALIDATORS),
    },
)


def _check_order(contributions: tuple[Contribution, ...]) -> None:
    for previous, current in zip(contributions, contributions[1:], strict=False):
        ensure(
            previous.index != current.index,
            DuplicateIndex,
            f"validator index {current.index} contributes twice",
        )
        ensure(
            previous.index < current.index,
            MalformedMessage,
            f"contributions not in increasing index order: {previous.index} before "
            f"{current.index}",
        )


def aggregate(payload: FinalityPayload, votes: Iterable[Vote], validator_count: int) -> Certificate:
    """Build the certificate of `payload` from gossiped votes (any t or more).

    Rejects a vote for another payload (WrongPayload), a validator voting twice
    (DuplicateIndex), an index outside the set (UnknownIndex) and fewer than t votes.
    """
    by_index: dict[int, Contribution] = {}
    for vote in votes:
        ensure(
            vote.payload == payload,
            WrongPayload,
            f"vote of validator {vote.contribution.index} is for slot {vote.payload.slot} "
            f"header 0x{vote.payload.header_hash.hex()}, expected slot {payload.slot} "
            f"header 0x{payload.header_hash.hex()}",
        )
        index = vote.contribution.index
        ensure(index not in by_index, DuplicateIndex, f"validator index {index} votes twice")
        by_index[index] = vote.contribution
    contributions = tuple(by_index[i] for i in sorted(by_index))
    check_shape(contributions, validator_count)
    return Certificate(payload, contributions)


def check_shape(contributions: tuple[Contribution, ...], validator_count: int) -> None:
    """Distinct known indices and at least t = floor(2V/3) + 1 of them."""
    seen: set[int] = set()
    for contribution in contributions:
        index = contribution.index
        ensure(index not in seen, DuplicateIndex, f"validator index {index} contributes twice")
        ensure(
            0 <= index < validator_count,
            UnknownIndex,
            f"validator index {index} is not in [0, {validator_count})",
        )
        seen.add(index)
    needed = threshold_for(validator_count)
    ensure(
        len(contributions) >= needed,
        InsufficientContributions,
        f"{len(contributions)} contributions, need t = {needed} of {validator_count}",
    )


def osst_exponents(
    contributions: tuple[Contribution, ...], payload: FinalityPayload
) -> tuple[list[int], int]:
    """(mu_i for each contribution, C = prod c_i) of OSST eq. 3.3, in O(k) field operations.

    mu_i = lambda_i * prod_{j != i} c_j = xi * C / (x_i * delta_i * c_i), with
    xi = prod x_j and delta_i = prod_{j != i} (x_j - x_i); one batch inversion serves all.
    """
    challenge_values = challenges(tuple(c.commitment for c in contributions), payload)
    points = [evaluation_point(c.index) for c in contributions]
    product = _product_mod_l(challenge_values)
    xi = _product_mod_l(points)
    denominators = [
        x * delta % GROUP_ORDER * c % GROUP_ORDER
        for x, delta, c in zip(
            points, difference_products(points), challenge_values, strict=True
        )
    ]
    scale = xi * product % GROUP_ORDER
    return [scale * inverse % GROUP_ORDER for inverse in batch_inverse(denominators)], product


def _product_mod_l(values: list[int]) -> int:
    product = 1
    for value in values:
        product = product * value % GROUP_ORDER
    return product


def verify_certificate(certificate: Certificate, group_key: Point, validator_count: int) -> None:
    """OSST eq. 3.3 against the group key Y: raises a FinalityError unless it holds."""
    contributions = certificate.contributions
    check_shape(contributions, validator_count)
    mu, product = osst_exponents(contributions, certificate.payload)
    response_sum = sum(m * c.response.value for m, c in zip(mu, contributions, strict=True))
    residue = msm(
        [*mu, product, -response_sum],
        [*(c.commitment for c in contributions), group_key, GENERATOR],
    )
    ensure(
        residue.is_identity,
        InvalidCertificate,
        f"certificate for slot {certificate.payload.slot} fails OSST eq. 3.3",
    )


def identify_invalid(certificate: Certificate, keys: EpochKeys) -> tuple[int, ...]:
    """The indices whose contribution fails g^s_i = u_i * y_i^c_i (OSST identification).

    If every contribution passes, eq. 3.3 holds for any t of them, so a failed certificate
    always names at least one culprit.
    """
    bad = []
    for contribution in certificate.contributions:
        try:
            verify_contribution(
                contribution, certificate.payload, keys.public_share(contribution.index)
            )
        except FinalityError:
            bad.append(contribution.index)
    return tuple(bad)


def check_certificate(certificate: Certificate, keys: EpochKeys) -> None:
    """Verify against Y; on failure raise InvalidCertificate naming the bad contributions."""
    try:
        verify_certificate(certificate, keys.group_key, keys.validator_count)
    except InvalidCertificate:
        bad = identify_invalid(certificate, keys)
        raise InvalidCertificate(
            f"certificate for slot {certificate.payload.slot} fails OSST eq. 3.3; "
            f"invalid contributions from validators {list(bad)}",
            bad,
        ) from None
