"""In-process runs of a sharing round (DKG or reshare), with injectable dealer faults.

A network runs the same steps spread over validators: each dealer sends shares over an
authenticated encrypted channel, each recipient checks only its own shares and complains,
and every validator judges the complaints with the same `SharingRound`. Here all parties
run in one process, which is what genesis tooling, tests and benchmarks need.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shielded.finality.group import GROUP_ORDER, Scalar
from shielded.finality.vss import (
    Complaint,
    ComplaintAnswer,
    SharingRound,
    deal,
    share_matches,
)


@dataclass(frozen=True)
class DealerFaults:
    """Misbehaviour to inject into a simulated round (tests and fault-injection devnets).

    `wrong_shares[d]`: recipients that dealer d sends a wrong share; `silent`: dealers that
    leave complaints unanswered; `high_degree`: dealers committing to degree >= t.
    """

    wrong_shares: Mapping[int, frozenset[int]] = field(default_factory=dict)
    silent: frozenset[int] = frozenset()
    high_degree: frozenset[int] = frozenset()


def simulate_round(
    sharing: SharingRound, dealt_secrets: Mapping[int, int], faults: DealerFaults | None = None
) -> dict[int, dict[int, Scalar]]:
    """Run every party of one round in-process: deal, check, complain, answer, qualify.

    Returns, for each recipient, the shares it ends up with from each qualified dealer.
    In a network each dealer sends shares over an authenticated encrypted channel and each
    recipient runs only its own checks; the judgement of complaints is the same for all.
    """
    faults = faults or DealerFaults()
    private: dict[int, tuple[Scalar, ...]] = {}
    for dealer, secret in sorted(dealt_secrets.items()):
        degree = sharing.threshold + (1 if dealer in faults.high_degree else 0)
        dealing, shares = deal(dealer, secret, degree, sharing.recipient_count)
        wrong = faults.wrong_shares.get(dealer, frozenset())
        private[dealer] = tuple(
            Scalar((s.value + 1) % GROUP_ORDER) if j in wrong else s for j, s in enumerate(shares)
        )
        sharing.publish(dealing)
    sharing.check_degrees()
    for dealer, shares in private.items():
        if dealer in sharing.disqualified:
            continue
        for recipient, share in enumerate(shares):
            if not share_matches(sharing.dealings[dealer], recipient, share):
                sharing.complain(Complaint(dealer, recipient))
    answers = [
        ComplaintAnswer(c.dealer, c.recipient, _true_share(sharing, c, private))
        for c in sharing.complaints
        if c.dealer not in faults.silent
    ]
    sharing.answer(answers)
    qualified = sharing.qualified()
    return {
        recipient: {
            d: sharing.share(d, recipient, private[d][recipient]) for d in qualified
        }
        for recipient in range(sharing.recipient_count)
    }


def _true_share(
    sharing: SharingRound, complaint: Complaint, private: Mapping[int, tuple[Scalar, ...]]
) -> Scalar:
    """What an honest dealer reveals: the share that matches its own commitment."""
    sent = private[complaint.dealer][complaint.recipient]
    if share_matches(sharing.dealings[complaint.dealer], complaint.recipient, sent):
        return sent
    return Scalar((sent.value - 1) % GROUP_ORDER)  # undo the injected fault
