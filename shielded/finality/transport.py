"""A reshare round carried by a chain: signed dealings with sealed shares, complaints, answers.

`reshare.py` assumes an authenticated private channel from every old validator (dealer) to
every new one (recipient). On a chain that channel is the block itself (design section 4):
* a dealer publishes its Feldman commitments V_0..V_n' (V_0 = g^x_i = y_i, its old public
  share) and each recipient j's share f_i(j + 1) sealed to j's X25519 key, which is j's
  ed25519 key under the birational map to Curve25519 (libsodium's
  `crypto_sign_ed25519_pk_to_curve25519`), and signs the whole with its ed25519 key;
* a recipient whose share fails g^s = V_(j+1), or cannot be opened, publishes a signed
  complaint; the dealer answers by revealing that share, signed (Feldman's complaint
  round; `SharingRound.answer` judges both).
Every message names the chain and the epoch whose keys are reshared, so nothing replays
on another chain or in another round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nacl.bindings import crypto_sign_ed25519_pk_to_curve25519
from nacl.exceptions import BadSignatureError, CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.signing import SigningKey, VerifyKey

from jamcore.codec import BLOB, HASH, U16, U32, Codec, FixedBytes, Struct, seq
from shielded.finality.encoding import SCALAR, decode_strict, encode
from shielded.finality.errors import FinalityError, MalformedMessage, SharingError, ensure
from shielded.finality.group import Point, Scalar
from shielded.finality.keys import MAX_VALIDATORS, KeyShare
from shielded.finality.vss import DEALING_CODEC, Dealing, deal, degree_failures, share_matches

CONTEXT = b"jam-shielded/reshare/v1"
SIGNATURE = FixedBytes(64)
NULL_KEY = bytes(32)
"""Safrole's null key (an offender's replacement): it receives no share."""


@dataclass(frozen=True)
class DealingBody:
    """Dealer `dealing.dealer`'s sharing of its x_i for the validators after `epoch`."""

    chain_id: bytes
    epoch: int
    dealing: Dealing
    sealed_shares: tuple[bytes, ...]
    """Recipient j's share f_i(j + 1), sealed to j's X25519 key (empty for a null key)."""


@dataclass(frozen=True)
class ComplaintBody:
    """Recipient `recipient` says dealer `dealer`'s share for it is wrong or unreadable."""

    chain_id: bytes
    epoch: int
    dealer: int
    recipient: int


@dataclass(frozen=True)
class AnswerBody:
    """Dealer `dealer` reveals the disputed share of recipient `recipient`."""

    chain_id: bytes
    epoch: int
    dealer: int
    recipient: int
    share: Scalar


DEALING_BODY = Struct(
    DealingBody,
    {
        "chain_id": HASH,
        "epoch": U32,
        "dealing": DEALING_CODEC,
        "sealed_shares": seq(BLOB, max_length=MAX_VALIDATORS),
    },
)
COMPLAINT_BODY = Struct(
    ComplaintBody, {"chain_id": HASH, "epoch": U32, "dealer": U16, "recipient": U16}
)
ANSWER_BODY = Struct(
    AnswerBody,
    {"chain_id": HASH, "epoch": U32, "dealer": U16, "recipient": U16, "share": SCALAR},
)


@dataclass(frozen=True)
class Signed:
    """A message body and its author's ed25519 signature over CONTEXT || kind || E(body)."""

    kind: bytes
    body: bytes
    signature: bytes

    def encode(self) -> bytes:
        return encode(SIGNED, self, "signed reshare message")

    @classmethod
    def decode(cls, data: bytes) -> Signed:
        return decode_strict(SIGNED, data, "signed reshare message")

    def verify(self, author_key: bytes) -> None:
        """InvalidMessage unless the author's key signed this message."""
        try:
            VerifyKey(author_key).verify(_signing_message(self.kind, self.body), self.signature)
        except (BadSignatureError, ValueError, CryptoError) as error:
            raise InvalidMessage(f"{self.kind.decode()} signature does not verify") from error


SIGNED = Struct(Signed, {"kind": BLOB, "body": BLOB, "signature": SIGNATURE})


class InvalidMessage(FinalityError):
    """A reshare message that is badly signed or does not fit its round."""


def _signing_message(kind: bytes, body: bytes) -> bytes:
    return CONTEXT + bytes([len(kind)]) + kind + body


def sign(kind: bytes, codec: Codec[object], body: object, key: SigningKey) -> Signed:
    data = encode(codec, body, kind.decode())
    return Signed(kind, data, key.sign(_signing_message(kind, data)).signature)


BODY_CODECS: dict[bytes, Codec[object]] = {
    b"dealing": DEALING_BODY,
    b"complaint": COMPLAINT_BODY,
    b"answer": ANSWER_BODY,
}


def open_body(signed: Signed, kind: bytes, codec: Codec[object] | None = None) -> object:
    """The body of `signed` if it is of `kind`; MalformedMessage otherwise."""
    ensure(signed.kind == kind, MalformedMessage, f"expected a {kind.decode()} message")
    return decode_strict(codec or BODY_CODECS[kind], signed.body, kind.decode())


def message_body(signed: Signed) -> DealingBody | ComplaintBody | AnswerBody:
    """The decoded body of a round message of any kind (MalformedMessage if unknown)."""
    ensure(signed.kind in BODY_CODECS, MalformedMessage, f"unknown kind {signed.kind!r}")
    body = open_body(signed, signed.kind)
    assert isinstance(body, DealingBody | ComplaintBody | AnswerBody)
    return body


def message_author(body: DealingBody | ComplaintBody | AnswerBody) -> int:
    """The validator index that must have signed the message."""
    if isinstance(body, DealingBody):
        return body.dealing.dealer
    if isinstance(body, ComplaintBody):
        return body.recipient
    return body.dealer


def x25519_public(ed25519_key: bytes) -> PublicKey | None:
    """The X25519 key of a validator's ed25519 key; None for the null key or a bad point."""
    if ed25519_key == NULL_KEY:
        return None
    try:
        return PublicKey(crypto_sign_ed25519_pk_to_curve25519(ed25519_key))
    except (CryptoError, ValueError, RuntimeError):
        return None


def seal_shares(shares: Sequence[Scalar], recipient_keys: Sequence[bytes]) -> tuple[bytes, ...]:
    """Each share sealed (X25519 + XSalsa20-Poly1305, libsodium sealed box) to its recipient."""
    sealed = []
    for share, key in zip(shares, recipient_keys, strict=True):
        public = x25519_public(key)
        sealed.append(b"" if public is None else SealedBox(public).encrypt(share.encode()))
    return tuple(sealed)


def make_dealing(
    chain_id: bytes,
    epoch: int,
    share: KeyShare,
    recipient_keys: Sequence[bytes],
    threshold: int,
    signing_key: SigningKey,
) -> tuple[Signed, tuple[Scalar, ...]]:
    """A signed dealing of `share` for the recipients (the next epoch's validators), and
    the plain shares, which the dealer keeps to answer complaints."""
    dealing, shares = deal(share.index, share.secret.value, threshold, len(recipient_keys))
    body = DealingBody(chain_id, epoch, dealing, seal_shares(shares, recipient_keys))
    return sign(b"dealing", DEALING_BODY, body, signing_key), shares


def check_dealing(
    body: DealingBody, expected_secret: Point, threshold: int, recipient_count: int
) -> None:
    """The public checks anyone can run: shape, V_0 = y_dealer, degree < t (SharingError)."""
    dealing = body.dealing
    ensure(
        len(dealing.commitments) == recipient_count + 1
        and len(body.sealed_shares) == recipient_count,
        SharingError,
        f"dealing by {dealing.dealer} is not for {recipient_count} recipients",
    )
    ensure(
        dealing.commitments[0] == expected_secret,
        SharingError,
        f"dealing by {dealing.dealer}: g^f(0) is not the dealer's public share",
    )
    ensure(
        not degree_failures([dealing], threshold),
        SharingError,
        f"dealing by {dealing.dealer}: commitments are not of degree < {threshold}",
    )


def open_share(body: DealingBody, recipient: int, signing_key: SigningKey) -> Scalar | None:
    """Recipient `recipient`'s share of this dealing, or None if it cannot be opened or
    fails g^s = V_(recipient+1) (then the recipient complains)."""
    if not 0 <= recipient < len(body.sealed_shares):
        return None
    private: PrivateKey = signing_key.to_curve25519_private_key()
    try:
        share = Scalar.decode(SealedBox(private).decrypt(body.sealed_shares[recipient]))
    except (CryptoError, FinalityError, ValueError):
        return None
    return share if share_matches(body.dealing, recipient, share) else None


def make_complaint(
    chain_id: bytes, epoch: int, dealer: int, recipient: int, signing_key: SigningKey
) -> Signed:
    return sign(
        b"complaint",
        COMPLAINT_BODY,
        ComplaintBody(chain_id, epoch, dealer, recipient),
        signing_key,
    )


def make_answer(
    chain_id: bytes,
    epoch: int,
    dealer: int,
    recipient: int,
    share: Scalar,
    signing_key: SigningKey,
) -> Signed:
    return sign(
        b"answer",
        ANSWER_BODY,
        AnswerBody(chain_id, epoch, dealer, recipient, share),
        signing_key,
    )
