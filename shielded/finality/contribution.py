"""A validator's finality contribution for one block (OSST, eprint 2025/722, section 3).

After importing the block of slot s, validator i publishes (i, u_i = g^r_i,
s_i = r_i + c_i x_i) with the challenge c_i = H(u_i || payload) and
payload = (chain id, slot, header hash). On its own a contribution is a Schnorr proof of
knowledge of x_i, checkable against the public share y_i: g^s_i = u_i * y_i^c_i. It is
gossiped as a `Vote` (payload and contribution); a certificate stores the payload once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from jamcore.codec import HASH, U16, U32, Struct
from shielded.finality.encoding import POINT, SCALAR, decode_strict, encode
from shielded.finality.errors import InvalidContribution, MalformedMessage, ensure
from shielded.finality.group import GROUP_ORDER, Point, Scalar, base_mul, hash_to_scalar
from shielded.finality.keys import KeyShare

CHALLENGE_DOMAIN = b"jam-osst/chal"
NONCE_DOMAIN = b"jam-osst/nonce"


@dataclass(frozen=True)
class FinalityPayload:
    """What a contribution attests: (chain id, slot, header hash) of a block."""

    chain_id: bytes
    slot: int
    header_hash: bytes

    def __post_init__(self) -> None:
        ensure(
            len(self.chain_id) == 32 and len(self.header_hash) == 32,
            MalformedMessage,
            "chain id and header hash must be 32 bytes each",
        )
        ensure(0 <= self.slot < 1 << 32, MalformedMessage, f"slot {self.slot} is not a u32")

    def encode(self) -> bytes:
        """Appendix C encoding: chain id (32), slot (u32), header hash (32)."""
        return encode(PAYLOAD_CODEC, self, "finality payload")


@dataclass(frozen=True)
class Contribution:
    """OSST's (i, u_i, s_i): validator index, commitment g^r_i and response."""

    index: int
    commitment: Point
    response: Scalar


@dataclass(frozen=True)
class Vote:
    """A contribution together with the payload it was made for, as gossiped."""

    payload: FinalityPayload
    contribution: Contribution

    def encode(self) -> bytes:
        return encode(VOTE_CODEC, self, "vote")

    @classmethod
    def decode(cls, data: bytes) -> Vote:
        """Strict decoding; subgroup-checks the commitment, canonical response."""
        return decode_strict(VOTE_CODEC, data, "vote")


PAYLOAD_CODEC = Struct(FinalityPayload, {"chain_id": HASH, "slot": U32, "header_hash": HASH})
CONTRIBUTION_CODEC = Struct(Contribution, {"index": U16, "commitment": POINT, "response": SCALAR})
VOTE_CODEC = Struct(Vote, {"payload": PAYLOAD_CODEC, "contribution": CONTRIBUTION_CODEC})


def challenge(commitment: Point, payload: FinalityPayload) -> int:
    """c_i = H(u_i || payload) as an integer mod l (OSST section 3, Fiat-Shamir).

    A zero challenge would cancel the share from eq. 3.3; it occurs with probability
    2^-252 and is rejected as an invalid contribution.
    """
    return challenges((commitment,), payload)[0]


def challenges(commitments: tuple[Point, ...], payload: FinalityPayload) -> list[int]:
    """c_i = H(u_i || payload) for several commitments to one payload (encoded once)."""
    encoded = payload.encode()
    result = [hash_to_scalar(CHALLENGE_DOMAIN, u.encoded, encoded).value for u in commitments]
    for u, c in zip(commitments, result, strict=True):
        ensure(c != 0, InvalidContribution, f"zero challenge for commitment {u.encoded.hex()}")
    return result


def contribute(share: KeyShare, payload: FinalityPayload) -> Contribution:
    """(i, u_i = g^r_i, s_i = r_i + c_i x_i) for `payload` (OSST section 3).

    The nonce r_i is hedged: a hash of the secret share, the payload and fresh randomness,
    so a weak random source alone cannot repeat a nonce across payloads.
    """
    while True:
        nonce = hash_to_scalar(
            NONCE_DOMAIN, share.secret.encode(), payload.encode(), secrets.token_bytes(32)
        ).value
        if nonce == 0:
            continue
        commitment = base_mul(nonce)
        c = hash_to_scalar(CHALLENGE_DOMAIN, commitment.encoded, payload.encode()).value
        if c != 0:
            break
    response = (nonce + c * share.secret.value) % GROUP_ORDER
    return Contribution(share.index, commitment, Scalar(response))


def verify_contribution(
    contribution: Contribution, payload: FinalityPayload, public_share: Point
) -> None:
    """Check g^s_i = u_i * y_i^c_i for one contribution; InvalidContribution otherwise.

    Used to identify the bad contributions of a failed certificate and to check
    equivocation evidence; certificates themselves verify with eq. 3.3 against Y only.
    """
    c = challenge(contribution.commitment, payload)
    ensure(
        base_mul(contribution.response) == contribution.commitment + public_share * c,
        InvalidContribution,
        f"contribution of validator {contribution.index} fails g^s = u * y^c "
        f"for slot {payload.slot}",
    )
