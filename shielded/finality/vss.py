"""Feldman verifiable secret sharing with complaints, shared by the DKG and resharing.

A dealer shares a secret f(0) with a random polynomial f of degree t-1 and publishes the
commitments V_j = g^f(j) for j = 0..n (Feldman's VSS in evaluation form, as in SCRAPE,
Cascudo-David 2017). Recipient j (validator index j-1) gets f(j) privately and checks
g^f(j) = V_j: one fixed-base multiplication instead of an evaluation in the exponent.
Anyone checks that (V_0..V_n) lie on a polynomial of degree < t with a random codeword of
the dual Reed-Solomon code: sum_j v_j m(j) V_j = 0 with v_j = 1 / prod_{i != j} (j - i)
and m random of degree <= n - t; all dealers are checked in one MSM.

A recipient whose share fails complains; the dealer must answer by revealing that share,
which everyone checks against V_j. A dealer is disqualified for a malformed dealing, a
failed degree check, t or more complaints, or a complaint left unanswered or answered with
a wrong share.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from jamcore.codec import U16, Struct, seq
from shielded.finality.encoding import POINT, decode_strict, encode
from shielded.finality.errors import DuplicateIndex, SharingError, UnknownIndex, ensure
from shielded.finality.group import GROUP_ORDER, Point, Scalar, base_mul
from shielded.finality.keys import MAX_VALIDATORS
from shielded.finality.lagrange import batch_inverse
from shielded.finality.msm import msm


@dataclass(frozen=True)
class Dealing:
    """A dealer's public commitments g^f(0), g^f(1), ..., g^f(n) to its sharing polynomial."""

    dealer: int
    commitments: tuple[Point, ...]

    def encode(self) -> bytes:
        return encode(DEALING_CODEC, self, "dealing")

    @classmethod
    def decode(cls, data: bytes) -> Dealing:
        """Strict decoding; every commitment is subgroup-checked."""
        return decode_strict(DEALING_CODEC, data, "dealing")


DEALING_CODEC = Struct(
    Dealing, {"dealer": U16, "commitments": seq(POINT, min_length=2, max_length=MAX_VALIDATORS)}
)


@dataclass(frozen=True)
class Complaint:
    """Recipient `recipient` says the share it got from `dealer` fails g^f(j) = V_j."""

    dealer: int
    recipient: int


@dataclass(frozen=True)
class ComplaintAnswer:
    """The dealer's public reveal of the disputed share f(recipient + 1)."""

    dealer: int
    recipient: int
    share: Scalar


def deal(
    dealer: int, secret: int, threshold: int, recipient_count: int
) -> tuple[Dealing, tuple[Scalar, ...]]:
    """A fresh sharing of `secret`: the dealing and the private shares f(1..n) (Feldman).

    A polynomial value of zero would commit to the identity, which no decoder accepts; it
    has probability about n / l and is met by drawing a new polynomial.
    """
    ensure(1 <= threshold <= recipient_count, SharingError, "need 1 <= t <= n")
    while True:
        coefficients = [secret % GROUP_ORDER] + [
            secrets.randbelow(GROUP_ORDER) for _ in range(threshold - 1)
        ]
        values = [_evaluate(coefficients, j) for j in range(recipient_count + 1)]
        if all(values):
            break
    dealing = Dealing(dealer, tuple(base_mul(v) for v in values))
    return dealing, tuple(Scalar(v) for v in values[1:])


def _evaluate(coefficients: Sequence[int], x: int) -> int:
    result = 0
    for coefficient in reversed(coefficients):
        result = (result * x + coefficient) % GROUP_ORDER
    return result


def share_matches(dealing: Dealing, recipient: int, share: Scalar) -> bool:
    """g^share = V_(recipient+1): the recipient's check of its private share."""
    return base_mul(share) == dealing.commitments[recipient + 1]


def dual_codeword(threshold: int, recipient_count: int) -> list[int]:
    """A random codeword of the dual of the [n+1, t] Reed-Solomon code on points 0..n."""
    n = recipient_count
    factorials = [1] * (n + 1)
    for i in range(1, n + 1):
        factorials[i] = factorials[i - 1] * i % GROUP_ORDER
    # prod_{i != j} (j - i) = j! * (-1)^(n-j) * (n-j)!
    denominators = [factorials[j] * factorials[n - j] % GROUP_ORDER for j in range(n + 1)]
    inverses = batch_inverse(denominators)
    mask = [secrets.randbelow(GROUP_ORDER) for _ in range(n - threshold + 1)]
    return [
        (-1) ** (n - j) * inverses[j] * _evaluate(mask, j) % GROUP_ORDER for j in range(n + 1)
    ]


def degree_failures(dealings: Sequence[Dealing], threshold: int) -> set[int]:
    """The dealers whose commitments are not on one polynomial of degree < t.

    All dealings are checked at once with random weights; only if that combined check fails
    is each dealing checked on its own to name the culprits.
    """
    if not dealings:
        return set()
    n = len(dealings[0].commitments) - 1
    ensure(
        all(len(d.commitments) == n + 1 for d in dealings),
        SharingError,
        f"dealings must all commit to {n + 1} values",
    )
    ensure(1 <= threshold <= n + 1, SharingError, f"threshold {threshold} not in [1, {n + 1}]")
    if threshold == n + 1:
        return set()  # every vector of n+1 values is a codeword
    word = dual_codeword(threshold, n)
    weights = [secrets.randbelow(GROUP_ORDER) for _ in dealings]
    scalars = [w * v for w in weights for v in word]
    points = [point for dealing in dealings for point in dealing.commitments]
    if msm(scalars, points).is_identity:
        return set()
    return {d.dealer for d in dealings if not msm(word, list(d.commitments)).is_identity}


@dataclass
class SharingRound:
    """The public record of one round of dealings: commitments, complaints and answers.

    `dealer_count` dealers share to `recipient_count` recipients with threshold `threshold`;
    `expected_secrets` optionally fixes g^f(0) per dealer (resharing: the old y_i).
    """

    dealer_count: int
    recipient_count: int
    threshold: int
    expected_secrets: Mapping[int, Point] | None = None
    dealings: dict[int, Dealing] = field(default_factory=dict)
    disqualified: dict[int, str] = field(default_factory=dict)
    complaints: list[Complaint] = field(default_factory=list)
    revealed: dict[tuple[int, int], Scalar] = field(default_factory=dict)

    def publish(self, dealing: Dealing) -> None:
        """Record a broadcast dealing, disqualifying its dealer if it is malformed."""
        dealer = dealing.dealer
        ensure(
            0 <= dealer < self.dealer_count,
            UnknownIndex,
            f"dealer {dealer} is not in [0, {self.dealer_count})",
        )
        ensure(dealer not in self.dealings, DuplicateIndex, f"dealer {dealer} dealt twice")
        self.dealings[dealer] = dealing
        if len(dealing.commitments) != self.recipient_count + 1:
            self.disqualified[dealer] = (
                f"{len(dealing.commitments)} commitments, expected {self.recipient_count + 1}"
            )
        elif self.expected_secrets is not None and (
            dealing.commitments[0] != self.expected_secrets.get(dealer)
        ):
            self.disqualified[dealer] = "g^f(0) is not the dealer's public share"

    def check_degrees(self) -> None:
        """Disqualify every dealer whose commitments are not of degree < t."""
        candidates = [d for i, d in sorted(self.dealings.items()) if i not in self.disqualified]
        for dealer in degree_failures(candidates, self.threshold):
            self.disqualified[dealer] = f"commitments are not of degree < {self.threshold}"

    def complain(self, complaint: Complaint) -> None:
        """Record a recipient's complaint (a repeated complaint counts once)."""
        ensure(
            complaint.dealer in self.dealings,
            UnknownIndex,
            f"complaint against dealer {complaint.dealer}, who did not deal",
        )
        ensure(
            0 <= complaint.recipient < self.recipient_count,
            UnknownIndex,
            f"complaint by {complaint.recipient}, not in [0, {self.recipient_count})",
        )
        if complaint not in self.complaints:
            self.complaints.append(complaint)

    def answer(self, answers: Iterable[ComplaintAnswer]) -> None:
        """Judge every complaint by the answers; disqualify dealers that fail one."""
        given = {(a.dealer, a.recipient): a.share for a in answers}
        against: dict[int, int] = {}
        for complaint in self.complaints:
            against[complaint.dealer] = against.get(complaint.dealer, 0) + 1
        for dealer, count in against.items():
            # Answering t complaints would publish t shares and so the dealt secret; fewer
            # than t recipients are faulty, so an honest dealer never gets that many.
            if count >= self.threshold:
                self.disqualified.setdefault(dealer, f"{count} complaints, threshold reached")
        for complaint in self.complaints:
            key = (complaint.dealer, complaint.recipient)
            share = given.get(key)
            if share is None:
                self.disqualified.setdefault(
                    complaint.dealer, f"no answer to the complaint of {complaint.recipient}"
                )
            elif not share_matches(self.dealings[complaint.dealer], complaint.recipient, share):
                self.disqualified.setdefault(
                    complaint.dealer, f"wrong share revealed for {complaint.recipient}"
                )
            else:
                self.revealed[key] = share

    def qualified(self) -> tuple[int, ...]:
        """The dealers that dealt and were not disqualified, in index order."""
        return tuple(d for d in sorted(self.dealings) if d not in self.disqualified)

    def share(self, dealer: int, recipient: int, received: Scalar) -> Scalar:
        """The share to use: the publicly revealed one after a complaint, else `received`."""
        return self.revealed.get((dealer, recipient), received)

    def combine(self, weights: Mapping[int, int]) -> tuple[Point, tuple[Point, ...]]:
        """(sum_d w_d V_d,0, (sum_d w_d V_d,j for j = 1..n)) over the weighted dealers."""
        dealers = sorted(weights)
        ensure(dealers, SharingError, "no qualified dealers to combine")
        columns = list(zip(*(self.dealings[d].commitments for d in dealers), strict=True))
        if all(weights[d] == 1 for d in dealers):
            sums = [_sum(column) for column in columns]
        else:
            scalars = [weights[d] for d in dealers]
            sums = [msm(scalars, list(column)) for column in columns]
        return sums[0], tuple(sums[1:])


def _sum(points: Iterable[Point]) -> Point:
    iterator = iter(points)
    total = next(iterator)
    for point in iterator:
        total = total + point
    return total


def combined_secret(weighted_shares: Iterable[tuple[int, Scalar]]) -> Scalar:
    """sum_d w_d * share_d mod l: a recipient's new secret share."""
    return Scalar(sum(w * s.value for w, s in weighted_shares) % GROUP_ORDER)


