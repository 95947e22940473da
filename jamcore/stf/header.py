"""The header checks of block import (graypaper sections 5 and 6.4, 6.6, 10.20), as pure
functions of the header and what the importer already knows.

Every check raises a `HeaderError` subclass whose `code` names the rule, and changes nothing:

* before any state transition: the parent hash H_p (eq. 5.2), the parent state root H_r
  (eq. 5.8), the extrinsic hash H_x (eq. 5.4-5.6) and the slot H_t (eq. 5.7);
* around Safrole: the seal H_s and the entropy source H_v (eq. 6.15-6.17), whose output
  Y(H_v) is what Safrole folds into eta'_0 (eq. 6.22);
* after Safrole and disputes: the epoch, tickets and offenders marks (eq. 6.27, 6.28, 10.20).

Who seals a slot (gamma'_s[H_t], eta'_3, kappa') is Safrole's `SlotSealer`: build it from the
prior Safrole state with `jamcore.safrole.sealing.slot_sealer` (it depends on neither the
block's entropy nor its tickets), or from posterior components with `posterior_sealer`.
The seal checks themselves are Safrole's `verify_seal`, whose errors (`BadAuthorIndex`,
`BadSeal`, `BadVrfEntropy`) are `SafroleError`s rather than `HeaderError`s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jamcore.block import (
    Extrinsic,
    Header,
    encode_unsigned_header,
    extrinsic_hash,
)
from jamcore.crypto.bandersnatch import IETF_SIGNATURE_BYTES
from jamcore.errors import JamError, ensure
from jamcore.safrole import sealing
from jamcore.safrole.errors import BadAuthorIndex, BadSeal, BadVrfEntropy
from jamcore.safrole.sealing import SealVerdict, SlotSealer, posterior_sealer, slot_sealer
from jamcore.safrole.state import EpochMark, SafroleState, TicketBody
from jamcore.spec import ChainSpec

__all__ = [
    "SEAL_BYTES",
    "BadAuthorIndex",
    "BadEpochMark",
    "BadExtrinsicHash",
    "BadOffendersMark",
    "BadParent",
    "BadParentStateRoot",
    "BadSeal",
    "BadTicketsMark",
    "BadVrfEntropy",
    "FutureSlot",
    "HeaderError",
    "HeaderMarks",
    "SlotNotAfterParent",
    "posterior_sealer",
    "verify_epoch_mark",
    "verify_extrinsic_hash",
    "verify_header",
    "verify_marks",
    "verify_offenders_mark",
    "verify_parent",
    "verify_parent_state_root",
    "verify_seal",
    "verify_slot",
    "verify_tickets_mark",
]

SEAL_BYTES = IETF_SIGNATURE_BYTES
"""|H_s| = |H_v| = 96: an IETF VRF signature (section 3.8.2)."""


# --- Errors -------------------------------------------------------------------------------


class HeaderError(JamError):
    """A header that breaks a rule of graypaper section 5 or its seal and markers."""

    code = "bad_header"


class BadParent(HeaderError):
    """H_p is not the hash of the prior block's header (eq. 5.2)."""

    code = "bad_parent"


class BadParentStateRoot(HeaderError):
    """H_r is not the Merkle root of the prior state (eq. 5.8)."""

    code = "bad_parent_state_root"


class BadExtrinsicHash(HeaderError):
    """H_x is not the commitment to the block's extrinsic (eq. 5.4-5.6)."""

    code = "bad_extrinsic_hash"


class SlotNotAfterParent(HeaderError):
    """H_t does not come strictly after the prior slot tau (eq. 5.7)."""

    code = "slot_not_after_parent"


class FutureSlot(HeaderError):
    """H_t starts after the wall-clock time: P * H_t > T (eq. 5.7)."""

    code = "future_slot"


class BadEpochMark(HeaderError):
    """H_e differs from the epoch mark Safrole computes (eq. 6.27)."""

    code = "bad_epoch_mark"


class BadTicketsMark(HeaderError):
    """H_w differs from the winning-tickets mark Safrole computes (eq. 6.28)."""

    code = "bad_tickets_mark"


class BadOffendersMark(HeaderError):
    """H_o differs from the keys of the culprits then faults of E_D (eq. 10.20)."""

    code = "bad_offenders_mark"


# --- Section 5: parent, state root, extrinsic, slot ---------------------------------------


def verify_parent(header: Header, parent_hash: bytes) -> None:
    """H_p = H(E(P(H))): the header names the prior block's header hash (eq. 5.2)."""
    # Verify the parent is the block imported before this one.
    ensure(
        header.parent == parent_hash,
        BadParent(f"parent 0x{header.parent.hex()} is not the prior block 0x{parent_hash.hex()}"),
    )


def verify_parent_state_root(header: Header, prior_state_root: bytes) -> None:
    """H_r = M_sigma(sigma): the header commits to the prior state's root (eq. 5.8)."""
    # Verify the header's state root is the root of the state it is imported on.
    ensure(
        header.parent_state_root == prior_state_root,
        BadParentStateRoot(
            f"parent state root 0x{header.parent_state_root.hex()} is not the prior state's "
            f"root 0x{prior_state_root.hex()}"
        ),
    )


def verify_extrinsic_hash(header: Header, extrinsic: Extrinsic, spec: ChainSpec) -> None:
    """H_x = H(E(H#(a))) with a the five encoded extrinsic parts, guarantees committed by
    their reports' hashes (eq. 5.4-5.6)."""
    # Verify the header commits to exactly this extrinsic.
    expected = extrinsic_hash(extrinsic, spec)
    ensure(
        header.extrinsic_hash == expected,
        BadExtrinsicHash(
            f"extrinsic hash 0x{header.extrinsic_hash.hex()} is not the extrinsic's "
            f"0x{expected.hex()}"
        ),
    )


def verify_slot(header: Header, prior_slot: int, spec: ChainSpec, now: int | None = None) -> None:
    """P(H)_t < H_t and H_t * P <= T (eq. 5.7); `now` is T, seconds since the JAM epoch
    (omitted when importing recorded blocks, whose slots are all past)."""
    # Verify the slot strictly advances.
    ensure(
        header.slot > prior_slot,
        SlotNotAfterParent(f"slot {header.slot} does not come after the prior slot {prior_slot}"),
    )
    # Verify the slot has begun.
    if now is not None:
        ensure(
            header.slot * spec.slot_duration <= now,
            FutureSlot(
                f"slot {header.slot} begins at {header.slot * spec.slot_duration} s, after the "
                f"wall-clock time {now} s"
            ),
        )


# --- Section 6.4: the seal and the entropy source -----------------------------------------


def verify_seal(
    header: Header,
    sealer: SlotSealer,
    spec: ChainSpec,
    encoded_header: bytes | None = None,
) -> SealVerdict:
    """H_s and H_v of `header` by the slot's sealer (eq. 5.9, 6.15-6.17), as Safrole's
    `verify_seal` checks them over E_U(H). Returns Y(H_v), the entropy Safrole accumulates
    (eq. 6.22), and T. `encoded_header` is E(H) if the importer already has it."""
    # Verify the sealer is the one of this header's slot.
    ensure(
        sealer.slot == header.slot,
        BadSeal(f"sealer of slot {sealer.slot} given for a header of slot {header.slot}"),
    )
    if encoded_header is None:
        unsealed = encode_unsigned_header(header, spec)
    else:
        unsealed = encoded_header[:-SEAL_BYTES]
    return sealing.verify_seal(
        sealer, header.author_index, unsealed, header.seal, header.entropy_source
    )


# --- Sections 6.6 and 10: the markers -----------------------------------------------------


def verify_epoch_mark(header: Header, expected: EpochMark | None) -> None:
    """H_e equals Safrole's epoch mark: (eta_0, eta_1, [(k_b, k_e) | k <- gamma'_k]) on the
    first block of an epoch, else none (eq. 6.27)."""
    # Verify the epoch mark is present exactly when due, with Safrole's contents.
    ensure(
        header.epoch_mark == expected,
        BadEpochMark(
            f"epoch mark of slot {header.slot} is "
            f"{'absent' if header.epoch_mark is None else 'present'} or differs; expected "
            f"{'none' if expected is None else 'one'}"
        ),
    )


def verify_tickets_mark(header: Header, expected: Sequence[TicketBody] | None) -> None:
    """H_w equals Safrole's winning-tickets mark: Z(gamma_a) on the first block past the
    contest with a full accumulator, else none (eq. 6.28)."""
    marked = header.tickets_mark
    # Verify the tickets mark is present exactly when due, with Safrole's tickets in order.
    ensure(
        (marked is None and expected is None)
        or (marked is not None and expected is not None and tuple(marked) == tuple(expected)),
        BadTicketsMark(
            f"tickets mark of slot {header.slot} is "
            f"{'absent' if marked is None else 'present'} or differs; expected "
            f"{'none' if expected is None else 'one'}"
        ),
    )


def verify_offenders_mark(header: Header, expected: Sequence[bytes]) -> None:
    """H_o = [k | (r, k, s) <- culprits] ++ [k | (r, v, k, s) <- faults] (eq. 10.20): the
    ed25519 keys of the new offenders, in extrinsic order, as disputes computes them."""
    # Verify the offenders mark lists exactly the new offenders, in order.
    ensure(
        tuple(header.offenders_mark) == tuple(expected),
        BadOffendersMark(
            f"offenders mark of slot {header.slot} lists {len(header.offenders_mark)} keys, "
            f"not the {len(expected)} new offenders in order"
        ),
    )


# --- All of them ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HeaderMarks:
    """The markers a header must carry, as Safrole (H_e, H_w) and disputes (H_o) compute
    them (eq. 6.27, 6.28, 10.20)."""

    epoch_mark: EpochMark | None
    tickets_mark: tuple[TicketBody, ...] | None
    offenders_mark: tuple[bytes, ...]


def verify_header(
    header: Header,
    extrinsic: Extrinsic,
    parent_hash: bytes,
    prior_state_root: bytes,
    prior: SafroleState,
    spec: ChainSpec,
    now: int | None = None,
    encoded_header: bytes | None = None,
) -> SealVerdict:
    """Every header check that precedes the state transition, cheapest first: H_p (eq. 5.2),
    H_r (eq. 5.8), H_t against the prior tau (eq. 5.7), H_x (eq. 5.4-5.6), then H_i, H_s and
    H_v against the slot's sealer from the prior Safrole state (eq. 5.9, 6.15-6.17). Returns
    Y(H_v) and T for Safrole."""
    verify_parent(header, parent_hash)
    verify_parent_state_root(header, prior_state_root)
    verify_slot(header, prior.slot, spec, now)
    verify_extrinsic_hash(header, extrinsic, spec)
    return verify_seal(header, slot_sealer(prior, header.slot, spec), spec, encoded_header)


def verify_marks(header: Header, marks: HeaderMarks) -> None:
    """The header's markers equal those Safrole and disputes computed (eq. 6.27, 6.28,
    10.20)."""
    verify_epoch_mark(header, marks.epoch_mark)
    verify_tickets_mark(header, marks.tickets_mark)
    verify_offenders_mark(header, marks.offenders_mark)
