"""Guarantor assignments G and G* (graypaper v0.7.2 section 11.3, eq. 11.18-11.22).

Every validator is assigned a core by shuffling the sequence [floor(C i / V) | i <- N_V]
with epochal entropy (Appendix F) and rotating the result by one core per rotation
period R within the epoch. G uses eta'_2 and kappa' at tau'; G* is the assignment of the
previous rotation, tau' - R, with eta'_3 and lambda' when that rotation fell in the
previous epoch. Offenders' keys are replaced by the null key (Phi, eq. 6.14).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from jamcore.safrole.epochs import without_offenders
from jamcore.shuffle import shuffle_with_entropy
from jamcore.spec import ChainSpec
from jamcore.types.validators import ValidatorKey


@dataclass(frozen=True)
class GuarantorAssignment:
    """(c, k): each validator's core and the validator keys (eq. 11.18)."""

    cores: tuple[int, ...]
    keys: tuple[ValidatorKey, ...]


def base_cores(spec: ChainSpec) -> list[int]:
    """[floor(C i / V) | i <- N_V]: the cores before shuffling (eq. 11.20)."""
    cores, validators = spec.cores_count, spec.validators_count
    return [cores * i // validators for i in range(validators)]


def rotate(cores: Sequence[int], n: int, cores_count: int) -> tuple[int, ...]:
    """R(c, n) = [(x + n) mod C | x <- c] (eq. 11.19)."""
    return tuple((x + n) % cores_count for x in cores)


def rotation_of(slot: int, spec: ChainSpec) -> int:
    """floor((t mod E) / R): the rotations elapsed within t's epoch (eq. 11.20)."""
    return (slot % spec.epoch_length) // spec.rotation_period


def permute(entropy: bytes, slot: int, spec: ChainSpec) -> tuple[int, ...]:
    """P(e, t) = R(F([floor(C i / V) | i <- N_V], e), floor((t mod E) / R)) (eq. 11.20)."""
    shuffled = shuffle_with_entropy(base_cores(spec), entropy)
    return rotate(shuffled, rotation_of(slot, spec), spec.cores_count)


class Assignments:
    """G and G* for one block (eq. 11.21-11.22), each computed at most once and sharing
    the shuffle when both use the same entropy."""

    def __init__(
        self,
        slot: int,
        entropy: Sequence[bytes],
        curr_validators: tuple[ValidatorKey, ...],
        prev_validators: tuple[ValidatorKey, ...],
        offenders: Collection[bytes],
        spec: ChainSpec,
    ) -> None:
        self.slot = slot
        self.entropy = entropy
        self.curr_validators = curr_validators
        self.prev_validators = prev_validators
        self.offenders = frozenset(offenders)
        self.spec = spec
        self._shuffled: dict[bytes, list[int]] = {}
        self._current: GuarantorAssignment | None = None
        self._previous: GuarantorAssignment | None = None

    def _assignment(
        self, entropy: bytes, slot: int, keys: tuple[ValidatorKey, ...]
    ) -> GuarantorAssignment:
        shuffled = self._shuffled.get(entropy)
        if shuffled is None:
            shuffled = self._shuffled[entropy] = shuffle_with_entropy(
                base_cores(self.spec), entropy
            )
        cores = rotate(shuffled, rotation_of(slot, self.spec), self.spec.cores_count)
        return GuarantorAssignment(cores, without_offenders(keys, self.offenders))

    def current(self) -> GuarantorAssignment:
        """G = (P(eta'_2, tau'), Phi(kappa')) (eq. 11.21)."""
        if self._current is None:
            self._current = self._assignment(self.entropy[2], self.slot, self.curr_validators)
        return self._current

    def previous(self) -> GuarantorAssignment:
        """G* = (P(e, tau' - R), Phi(k)) with (e, k) = (eta'_2, kappa') when tau' - R is
        in tau''s epoch, else (eta'_3, lambda') (eq. 11.22)."""
        if self._previous is None:
            spec = self.spec
            earlier = self.slot - spec.rotation_period
            if earlier // spec.epoch_length == self.slot // spec.epoch_length:
                entropy, keys = self.entropy[2], self.curr_validators
            else:
                entropy, keys = self.entropy[3], self.prev_validators
            self._previous = self._assignment(entropy, earlier, keys)
        return self._previous

    def for_guarantee(self, guarantee_slot: int) -> GuarantorAssignment:
        """G when the guarantee's slot is in tau''s rotation, else G* (eq. 11.26)."""
        rotation = self.spec.rotation_period
        if self.slot // rotation == guarantee_slot // rotation:
            return self.current()
        return self.previous()
