"""Block seals and the entropy source: who seals a slot, and making and checking H_s and H_v
(graypaper section 6.4, eq. 6.15-6.20).

A header carries two IETF VRF signatures by the slot's sealer: the entropy source H_v on
X_E ++ Y(H_s) with no message, and the seal H_s on the slot's seal input with the unsealed
header E_U(H) (which includes H_v) as message. Y(H_s) depends only on the seal input, so
the author makes H_v first, then the header, then H_s. These functions take E_U(H) as bytes
so that `jamcore.block` can call them without Safrole knowing the header layout.
"""

from __future__ import annotations

from dataclasses import dataclass

from jamcore.crypto.bandersnatch import (
    BandersnatchError,
    ensure_public_key,
    ietf_sign,
    ietf_verify,
    vrf_output,
)
from jamcore.safrole.epochs import is_new_epoch, posterior_history, rotated_validators
from jamcore.safrole.errors import BadSeal, BadSlot, MalformedKey, ensure
from jamcore.safrole.sequencing import posterior_sealing_keys
from jamcore.safrole.state import SafroleState, TicketBody, TicketSeries, ValidatorKey
from jamcore.safrole.tickets import ticket_vrf_input
from jamcore.spec import ChainSpec

FALLBACK_SEAL_CONTEXT = b"jam_fallback_seal"
"""X_F: the context of seals in fallback mode (eq. 6.18)."""
ENTROPY_CONTEXT = b"jam_entropy"
"""X_E: the context of the entropy-source signature H_v (eq. 6.17)."""


@dataclass(frozen=True)
class SlotSealer:
    """Who may seal `slot`: the winning ticket (ticketed) or the fallback key, with eta'_3
    and kappa', the validators one of whom is the author (eq. 6.15-6.16, 6.24)."""

    slot: int
    ticket: TicketBody | None
    fallback_key: bytes | None
    entropy: bytes
    validators: tuple[ValidatorKey, ...]

    @property
    def ticketed(self) -> bool:
        """T: whether the slot is sealed with a ticket (1) or a fallback key (0)."""
        return self.ticket is not None

    @property
    def seal_input(self) -> bytes:
        """The seal's VRF input: X_T ++ eta'_3 ++ i_e with a ticket, else X_F ++ eta'_3."""
        if self.ticket is not None:
            return ticket_vrf_input(self.entropy, self.ticket.attempt)
        return FALLBACK_SEAL_CONTEXT + self.entropy


@dataclass(frozen=True)
class SealVerdict:
    """A valid seal's consequences: Y(H_v) for the entropy accumulator, and T."""

    entropy: bytes
    ticketed: bool


def slot_sealer(state: SafroleState, slot: int, spec: ChainSpec) -> SlotSealer:
    """Who may seal a block at `slot` on top of `state`: gamma'_s[slot] (eq. 6.15-6.16)."""
    ensure(
        slot > state.slot,
        BadSlot(f"slot {slot} does not come after the prior slot {state.slot}"),
    )
    new_epoch = is_new_epoch(state.slot, slot, spec)
    series = posterior_sealing_keys(state, slot, spec)
    _, _, entropy3 = posterior_history(state.entropy, new_epoch)
    _, active, _ = rotated_validators(state, new_epoch, ())
    index = slot % spec.epoch_length
    if isinstance(series, TicketSeries):
        return SlotSealer(slot, series.tickets[index], None, entropy3, active)
    return SlotSealer(slot, None, series.keys[index], entropy3, active)


def entropy_source_input(seal_output: bytes) -> bytes:
    """X_E ++ Y(H_s): the entropy-source signature's VRF input (eq. 6.17)."""
    return ENTROPY_CONTEXT + seal_output


def make_entropy_source(secret: bytes, sealer: SlotSealer) -> bytes:
    """H_v = F^[]_{H_a}<X_E ++ Y(H_s)>, computable before the header since Y(H_s) depends
    only on the seal input (eq. 6.17)."""
    return ietf_sign(secret, entropy_source_input(vrf_output(secret, sealer.seal_input)), b"")


def make_seal(secret: bytes, sealer: SlotSealer, unsealed_header: bytes) -> bytes:
    """H_s = F^{E_U(H)}_{H_a}<seal input>: the seal over the unsealed header (eq. 6.15-6.16)."""
    return ietf_sign(secret, sealer.seal_input, unsealed_header)


def verify_seal(
    sealer: SlotSealer,
    author_index: int,
    unsealed_header: bytes,
    seal: bytes,
    entropy_source: bytes,
) -> SealVerdict:
    """Check H_s and H_v of a header by validator `author_index` of kappa' for the slot of
    `sealer` (eq. 6.15-6.17); BadSeal if another validator sealed it or a signature fails."""
    ensure(
        0 <= author_index < len(sealer.validators),
        BadSeal(f"author index {author_index} is not below V = {len(sealer.validators)}"),
    )
    author = sealer.validators[author_index].bandersnatch
    try:
        ensure_public_key(author, f"Bandersnatch key of author {author_index}")
    except BandersnatchError as error:
        raise MalformedKey(str(error)) from error
    if sealer.fallback_key is not None:
        ensure(
            author == sealer.fallback_key,
            BadSeal(
                f"slot {sealer.slot} falls to key 0x{sealer.fallback_key.hex()}, not to "
                f"author {author_index} (0x{author.hex()})"
            ),
        )
    try:
        seal_output = ietf_verify(author, sealer.seal_input, unsealed_header, seal)
    except BandersnatchError as error:
        raise BadSeal(f"seal of slot {sealer.slot} by author {author_index}: {error}") from error
    if sealer.ticket is not None:
        ensure(
            seal_output == sealer.ticket.id,
            BadSeal(
                f"seal output 0x{seal_output.hex()} of author {author_index} is not the "
                f"slot {sealer.slot} ticket 0x{sealer.ticket.id.hex()}"
            ),
        )
    try:
        entropy = ietf_verify(author, entropy_source_input(seal_output), b"", entropy_source)
    except BandersnatchError as error:
        raise BadSeal(f"entropy source of slot {sealer.slot}: {error}") from error
    return SealVerdict(entropy=entropy, ticketed=sealer.ticketed)
