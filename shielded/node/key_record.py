"""The finality keys on chain, and the reshare round that replaces them at each epoch change.

Design section 4: OSST keys come from the genesis DKG and are reshared at every epoch
change to the next validator set, keeping the group key Y. The chain carries the round
(`shielded.finality.transport`) in the finality service's work reports, and its state
holds one `KeyRecord`:
* `keys` in force since epoch `epoch` (and `previous`, for evidence about earlier slots);
* the round of that epoch: signed dealings, complaints and answers, admitted in windows
  of the epoch (phase = slot mod E): dealings while phase < E/2, complaints while
  phase < 3E/4, answers until the epoch ends;
* `basis`: the qualified dealings and the answers the keys in force were combined from,
  so that each validator derives its own new share x'_j from the chain alone.
At the first block of a later epoch the round closes (`close_round`): a dealer with t
complaints, or a complaint left unanswered or answered with a wrong share, drops out
(Feldman's rule, `SharingRound.answer`); if at least the old t dealers qualify the keys
become `reshare_keys(...)` (same Y, fresh public shares), otherwise the keys carry over
unchanged, with the basis they were made from, and the old shares stay in use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from nacl.signing import SigningKey

from jamcore.codec import U32, Struct, seq
from jamcore.crypto.hashing import blake2b_256
from shielded.finality.encoding import decode_strict, encode
from shielded.finality.errors import FinalityError
from shielded.finality.group import base_mul
from shielded.finality.keys import (
    EPOCH_KEYS_CODEC,
    EpochKeys,
    KeyShare,
    evaluation_point,
    threshold_for,
)
from shielded.finality.lagrange import lagrange_at_zero
from shielded.finality.reshare import reshare_keys
from shielded.finality.transport import (
    SIGNED,
    AnswerBody,
    ComplaintBody,
    DealingBody,
    Signed,
    check_dealing,
    open_body,
    open_share,
)
from shielded.finality.vss import Complaint, ComplaintAnswer, SharingRound, combined_secret

MAX_ROUND_MESSAGES = 1024
"""Most dealings, complaints or answers one round (or one block) may hold."""


class ReshareError(Exception):
    """A reshare message that does not fit the chain's round; the message says why."""


@dataclass(frozen=True)
class KeyRecord:
    """The finality keys in force and the reshare round under way (see module docstring)."""

    epoch: int
    keys: EpochKeys
    previous: EpochKeys
    dealings: tuple[Signed, ...] = ()
    complaints: tuple[Signed, ...] = ()
    answers: tuple[Signed, ...] = ()
    basis: tuple[Signed, ...] = ()
    basis_answers: tuple[Signed, ...] = ()

    @classmethod
    def genesis(cls, keys: EpochKeys) -> KeyRecord:
        return cls(0, keys, keys)

    def encode(self) -> bytes:
        return encode(KEY_RECORD, self, "key record")

    @classmethod
    def decode(cls, data: bytes) -> KeyRecord:
        return decode_strict(KEY_RECORD, data, "key record")

    def keys_at(self, epoch: int) -> EpochKeys | None:
        """The keys votes at a slot of `epoch` use, if this record knows them."""
        if epoch == self.epoch:
            return self.keys
        return self.previous if epoch < self.epoch else None

    def dealing_bodies(self) -> list[DealingBody]:
        return [_body(d, b"dealing") for d in self.dealings]

    def complaint_bodies(self) -> list[ComplaintBody]:
        return [_body(c, b"complaint") for c in self.complaints]

    def answer_bodies(self) -> list[AnswerBody]:
        return [_body(a, b"answer") for a in self.answers]


_MESSAGES = seq(SIGNED, max_length=MAX_ROUND_MESSAGES)
KEY_RECORD = Struct(
    KeyRecord,
    {
        "epoch": U32,
        "keys": EPOCH_KEYS_CODEC,
        "previous": EPOCH_KEYS_CODEC,
        "dealings": _MESSAGES,
        "complaints": _MESSAGES,
        "answers": _MESSAGES,
        "basis": _MESSAGES,
        "basis_answers": _MESSAGES,
    },
)


def keys_fingerprint(keys: EpochKeys) -> bytes:
    """H(E(keys)): names one sharing, so a validator files its share under it."""
    return blake2b_256(keys.encode())


def _body(signed: Signed, kind: bytes) -> object:
    return open_body(signed, kind)


def _sharing(record: KeyRecord) -> SharingRound:
    """The round's public record, judged: degree and V_0 were checked on admission."""
    bodies = record.dealing_bodies()
    recipients = len(bodies[0].dealing.commitments) - 1 if bodies else 0
    sharing = SharingRound(
        dealer_count=record.keys.validator_count,
        recipient_count=recipients,
        threshold=threshold_for(recipients) if recipients else 1,
        expected_secrets=dict(enumerate(record.keys.public_shares)),
    )
    for body in bodies:
        sharing.publish(body.dealing)
    for complaint in record.complaint_bodies():
        sharing.complain(Complaint(complaint.dealer, complaint.recipient))
    sharing.answer(ComplaintAnswer(a.dealer, a.recipient, a.share) for a in record.answer_bodies())
    return sharing


def close_round(record: KeyRecord, epoch: int) -> KeyRecord:
    """The record at the first block of `epoch` (> record.epoch): the round's keys if at
    least the old t dealers qualified, else the same keys; an empty round for `epoch`."""
    if epoch <= record.epoch:
        raise ReshareError(f"epoch {epoch} does not follow the record's epoch {record.epoch}")
    # Carried-over keys keep the basis they were made from, so a validator that was down
    # when they were made can still derive its share.
    keys, basis, basis_answers = record.keys, record.basis, record.basis_answers
    if record.dealings:
        sharing = _sharing(record)
        qualified = set(sharing.qualified())
        if len(qualified) >= record.keys.threshold:
            try:
                keys = reshare_keys(sharing, record.keys)
            except FinalityError:
                keys = record.keys
            else:
                basis = tuple(
                    d
                    for d, b in zip(record.dealings, record.dealing_bodies(), strict=True)
                    if b.dealing.dealer in qualified
                )
                basis_answers = tuple(
                    a
                    for a, b in zip(record.answers, record.answer_bodies(), strict=True)
                    if b.dealer in qualified
                )
    return KeyRecord(epoch, keys, record.keys, (), (), (), basis, basis_answers)


@dataclass(frozen=True)
class RoundContext:
    """What admission checks need besides the record: the chain, the slot and epoch
    length, and the ed25519 keys of the dealers (this epoch's validators) and of the
    recipients (the next epoch's)."""

    chain_id: bytes
    slot: int
    epoch_length: int
    dealer_keys: Sequence[bytes]
    recipient_keys: Sequence[bytes]

    @property
    def epoch(self) -> int:
        return self.slot // self.epoch_length

    @property
    def phase(self) -> int:
        return self.slot % self.epoch_length


def admit(record: KeyRecord, context: RoundContext, message: Signed) -> KeyRecord:
    """`record` with `message` added to its round; ReshareError (record unchanged) if the
    message is malformed, badly signed, late, a repeat, or fails the public checks."""
    if record.epoch != context.epoch:
        raise ReshareError("the key record is not at the block's epoch")
    try:
        if message.kind == b"dealing":
            return _admit_dealing(record, context, message)
        if message.kind == b"complaint":
            return _admit_complaint(record, context, message)
        if message.kind == b"answer":
            return _admit_answer(record, context, message)
    except FinalityError as error:
        raise ReshareError(str(error)) from error
    raise ReshareError(f"unknown reshare message kind {message.kind!r}")


def _check_round(body: DealingBody | ComplaintBody | AnswerBody, context: RoundContext) -> None:
    if body.chain_id != context.chain_id:
        raise ReshareError("reshare message for another chain")
    if body.epoch != context.epoch:
        raise ReshareError(f"reshare message for epoch {body.epoch}, not {context.epoch}")


def _signer(keys: Sequence[bytes], index: int, role: str) -> bytes:
    if not 0 <= index < len(keys):
        raise ReshareError(f"{role} {index} is not a validator")
    return keys[index]


def _admit_dealing(record: KeyRecord, context: RoundContext, message: Signed) -> KeyRecord:
    body = _body(message, b"dealing")
    assert isinstance(body, DealingBody)
    _check_round(body, context)
    if context.phase >= context.epoch_length // 2:
        raise ReshareError("dealings close at half the epoch")
    dealer = body.dealing.dealer
    message.verify(_signer(context.dealer_keys, dealer, "dealer"))
    if dealer >= record.keys.validator_count:
        raise ReshareError(f"dealer {dealer} holds no share of the keys in force")
    if any(b.dealing.dealer == dealer for b in record.dealing_bodies()):
        raise ReshareError(f"dealer {dealer} already dealt this epoch")
    recipients = len(context.recipient_keys)
    check_dealing(body, record.keys.public_shares[dealer], threshold_for(recipients), recipients)
    return replace(record, dealings=(*record.dealings, message))


def _admit_complaint(record: KeyRecord, context: RoundContext, message: Signed) -> KeyRecord:
    body = _body(message, b"complaint")
    assert isinstance(body, ComplaintBody)
    _check_round(body, context)
    if context.phase >= 3 * context.epoch_length // 4:
        raise ReshareError("complaints close at three quarters of the epoch")
    message.verify(_signer(context.recipient_keys, body.recipient, "recipient"))
    if not any(b.dealing.dealer == body.dealer for b in record.dealing_bodies()):
        raise ReshareError(f"complaint against dealer {body.dealer}, who has not dealt")
    if any(
        (c.dealer, c.recipient) == (body.dealer, body.recipient) for c in record.complaint_bodies()
    ):
        raise ReshareError("complaint already on chain")
    return replace(record, complaints=(*record.complaints, message))


def _admit_answer(record: KeyRecord, context: RoundContext, message: Signed) -> KeyRecord:
    body = _body(message, b"answer")
    assert isinstance(body, AnswerBody)
    _check_round(body, context)
    message.verify(_signer(context.dealer_keys, body.dealer, "dealer"))
    key = (body.dealer, body.recipient)
    if key not in {(c.dealer, c.recipient) for c in record.complaint_bodies()}:
        raise ReshareError("answer to a complaint that is not on chain")
    if key in {(a.dealer, a.recipient) for a in record.answer_bodies()}:
        raise ReshareError("complaint already answered")
    return replace(record, answers=(*record.answers, message))


def derive_share(record: KeyRecord, index: int, signing_key: SigningKey) -> KeyShare | None:
    """Validator `index`'s share of `record.keys` from the basis round:
    x'_j = sum_{i in QUAL} lambda_i f_i(j + 1), with a publicly revealed share where the
    dealer answered j's complaint. None if the record has no basis (the keys carried over)
    or a share cannot be opened (then this validator cannot vote this epoch)."""
    if not record.basis or not 0 <= index < record.keys.validator_count:
        return None
    bodies = [_body(d, b"dealing") for d in record.basis]
    answers = [_body(s, b"answer") for s in record.basis_answers]
    revealed = {(a.dealer, a.recipient): a.share for a in answers if isinstance(a, AnswerBody)}
    dealings = [b for b in bodies if isinstance(b, DealingBody)]
    weights = lagrange_at_zero([evaluation_point(b.dealing.dealer) for b in dealings])
    weighted = []
    for body, weight in zip(dealings, weights, strict=True):
        share = revealed.get((body.dealing.dealer, index))
        if share is None:
            share = open_share(body, index, signing_key)
        if share is None:
            return None
        weighted.append((weight, share))
    secret = combined_secret(weighted)
    if base_mul(secret) != record.keys.public_shares[index]:
        return None
    return KeyShare(index, secret)


def finality_keys_summary(record: KeyRecord) -> dict[str, Any]:
    """The OSST keys in force: since which epoch, their fingerprint, the group key Y,
    whether this epoch's start reshared them (else they carried over), how many dealers
    they were combined from (0: the genesis keys), and the current round's dealings,
    complaints and answers on chain."""
    return {
        "epoch": record.epoch,
        "fingerprint": "0x" + keys_fingerprint(record.keys).hex(),
        "group_key": "0x" + record.keys.group_key.encoded.hex(),
        "reshared": record.keys != record.previous,
        "reshared_from": len(record.basis),
        "round": {
            "dealings": len(record.dealings),
            "complaints": len(record.complaints),
            "answers": len(record.answers),
        },
    }
