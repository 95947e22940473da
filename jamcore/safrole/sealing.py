"""Block seals and the entropy source: who seals a slot, and making and checking H_s and H_v
(graypaper section 6.4, eq. 6.15-6.20).

A header carries two IETF VRF signatures by the slot's sealer: the entropy source H_v on
X_E ++ Y(H_s) with no message, and the seal H_s on the slot's seal input with the unsealed
header E_U(H) (which includes H_v) as message. Y(H_s) depends only on the seal input, so
the author makes H_v first, then the header, then H_s. These functions take E_U(H) as bytes
so that Safrole need not know the header layout; `verify_seal` is the one check of H_i, H_s
and H_v, which the block importer (`jamcore.stf.header`) and the node both call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jamcore.crypto.bandersnatch import (
    BandersnatchError,
    ietf_sign,
    ietf_verify,
    is_valid_public_key,
    vrf_output,
)
from jamcore.safrole.epochs import is_new_epoch, posterior_history, rotated_validators
from jamcore.safrole.errors import BadAuthorIndex, BadSeal, BadSlot, BadVrfEntropy, ensure
from jamcore.safrole.sequencing import posterior_sealing_keys
from jamcore.safrole.state import (
    SafroleState,
    SealingKeySeries,
    TicketBody,
    TicketSeries,
    ValidatorKey,
)
from jamcore.safrole.tickets import ticket_vrf_input
from jamcore.spec import ENTROPY_CONTEXT, FALLBACK_SEAL_CONTEXT, ChainSpec


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
    return posterior_sealer(slot, series, entropy3, active, spec)


def posterior_sealer(
    slot: int,
    sealing_keys: SealingKeySeries,
    entropy3: bytes,
    validators: Sequence[ValidatorKey],
    spec: ChainSpec,
) -> SlotSealer:
    """The sealer of `slot` from posterior components: gamma'_s[H_t mod E] (a ticket or a
    fallback key), eta'_3 and kappa' (eq. 6.15-6.16, 5.9)."""
    index = slot % spec.epoch_length
    if isinstance(sealing_keys, TicketSeries):
        return SlotSealer(slot, sealing_keys.tickets[index], None, entropy3, tuple(validators))
    return SlotSealer(slot, None, sealing_keys.keys[index], entropy3, tuple(validators))


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


def author_key(sealer: SlotSealer, author_index: int) -> bytes:
    """H_a = kappa'[H_i]_b, the author's Bandersnatch key (eq. 5.9); in fallback mode it must
    be the key gamma'_s assigns the slot (eq. 6.16)."""
    count = len(sealer.validators)
    # Verify the author index names a validator of kappa'.
    ensure(
        0 <= author_index < count,
        BadAuthorIndex(f"author index {author_index} is not below V = {count}"),
    )
    key = sealer.validators[author_index].bandersnatch
    # Verify the author's key is a Bandersnatch point (an offender's is zeroed, eq. 6.14).
    ensure(
        is_valid_public_key(key),
        BadAuthorIndex(f"validator {author_index} has no valid Bandersnatch key"),
    )
    # Verify the fallback key of the slot is the author's (eq. 6.16).
    if sealer.fallback_key is not None:
        ensure(
            key == sealer.fallback_key,
            BadAuthorIndex(
                f"slot {sealer.slot} falls to key 0x{sealer.fallback_key.hex()}, not to "
                f"validator {author_index} (0x{key.hex()})"
            ),
        )
    return key


def verify_seal(
    sealer: SlotSealer,
    author_index: int,
    unsealed_header: bytes,
    seal: bytes,
    entropy_source: bytes,
) -> SealVerdict:
    """H_s in F^{E_U(H)}_{H_a}<X_T ++ eta'_3 ++ i_e> with Y(H_s) = i_y (ticket mode, eq. 6.15)
    or in F^{E_U(H)}_{H_a}<X_F ++ eta'_3> (fallback mode, eq. 6.16), and H_v in
    F^[]_{H_a}<X_E ++ Y(H_s)> (eq. 6.17), for a header by validator `author_index` of kappa'
    with unsealed encoding `unsealed_header` = E_U(H). Returns Y(H_v), the entropy Safrole
    accumulates (eq. 6.22), and T; a `BadSeal` (or its `BadAuthorIndex`, `BadVrfEntropy`)
    names the rule broken."""
    key = author_key(sealer, author_index)
    # Verify the seal over the unsigned header (eq. 6.15-6.16).
    try:
        seal_output = ietf_verify(key, sealer.seal_input, unsealed_header, seal)
    except BandersnatchError as error:
        raise BadSeal(
            f"seal of slot {sealer.slot} is not validator {author_index}'s: {error}"
        ) from error
    # Verify the ticket mode seal's output is the slot's ticket identifier (eq. 6.15).
    if sealer.ticket is not None:
        ensure(
            seal_output == sealer.ticket.id,
            BadSeal(
                f"seal output 0x{seal_output.hex()} of validator {author_index} is not the "
                f"slot {sealer.slot} ticket 0x{sealer.ticket.id.hex()}"
            ),
        )
    # Verify the entropy source on X_E ++ Y(H_s) (eq. 6.17).
    try:
        entropy = ietf_verify(key, entropy_source_input(seal_output), b"", entropy_source)
    except BandersnatchError as error:
        raise BadVrfEntropy(
            f"entropy source of slot {sealer.slot} is not validator {author_index}'s "
            f"signature on its seal output: {error}"
        ) from error
    return SealVerdict(entropy=entropy, ticketed=sealer.ticketed)
