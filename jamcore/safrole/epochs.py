"""Timekeeping, entropy and validator-key rotation at epoch boundaries (graypaper 6.1-6.5).

These are the pieces of the Safrole transition that a block's author also needs before the
block exists (to know who seals a slot, which ring and entropy its tickets use), so they
live apart from `transition.py` and both use them.
"""

from __future__ import annotations

from collections.abc import Collection

from jamcore.crypto.hashing import blake2b_256
from jamcore.safrole.state import SafroleState, ValidatorKey
from jamcore.spec import ChainSpec

Entropy = tuple[bytes, bytes, bytes, bytes]


def epoch_and_phase(slot: int, spec: ChainSpec) -> tuple[int, int]:
    """(e, m) = (slot / E, slot mod E): the epoch index and slot phase (eq. 6.2)."""
    return divmod(slot, spec.epoch_length)


def is_new_epoch(prior_slot: int, slot: int, spec: ChainSpec) -> bool:
    """e' > e: whether a block at `slot` after one at `prior_slot` opens an epoch."""
    return slot // spec.epoch_length > prior_slot // spec.epoch_length


def without_offenders(
    keys: tuple[ValidatorKey, ...], offenders: Collection[bytes]
) -> tuple[ValidatorKey, ...]:
    """Phi(k): each key whose ed25519 key is an offender's replaced by the null key (eq. 6.14)."""
    null = ValidatorKey.null()
    return tuple(null if key.ed25519 in offenders else key for key in keys)


def rotated_validators(
    state: SafroleState, new_epoch: bool, offenders: Collection[bytes]
) -> tuple[tuple[ValidatorKey, ...], tuple[ValidatorKey, ...], tuple[ValidatorKey, ...]]:
    """(gamma'_k, kappa', lambda'): on a new epoch (Phi(iota), gamma_k, kappa), else
    unchanged (eq. 6.13)."""
    if new_epoch:
        return (
            without_offenders(state.staged_validators, offenders),
            state.pending_validators,
            state.active_validators,
        )
    return state.pending_validators, state.active_validators, state.previous_validators


def accumulated_entropy(eta0: bytes, vrf_output: bytes) -> bytes:
    """eta'_0 = H(eta_0 ++ Y(H_v)): fold a block's VRF output into the accumulator (eq. 6.22)."""
    return blake2b_256(eta0 + vrf_output)


def rotated_entropy(entropy: Entropy, new_epoch: bool, vrf_output: bytes) -> Entropy:
    """eta': the accumulator updated and, on a new epoch, (eta_0, eta_1, eta_2) moved into
    (eta'_1, eta'_2, eta'_3) (eq. 6.22-6.23)."""
    eta0 = accumulated_entropy(entropy[0], vrf_output)
    if new_epoch:
        return (eta0, entropy[0], entropy[1], entropy[2])
    return (eta0, entropy[1], entropy[2], entropy[3])


def posterior_history(entropy: Entropy, new_epoch: bool) -> tuple[bytes, bytes, bytes]:
    """(eta'_1, eta'_2, eta'_3), which do not depend on the block's own VRF output."""
    if new_epoch:
        return (entropy[0], entropy[1], entropy[2])
    return (entropy[1], entropy[2], entropy[3])
