"""Nullifier derivation: nf = Poseidon(nk, cm, position) (design section 3, "Spending").

The same formula is constrained in the spend circuit, so a note has exactly one nullifier
and only the holder of `nk` (a spending or full viewing key) can compute it.
"""

from __future__ import annotations

from shielded.notes.poseidon import FIELD_MODULUS, poseidon
from shielded.nullifiers.errors import NullifierError


def derive_nullifier(nk: int, cm: int, position: int) -> int:
    """nf = Poseidon(nk, cm, position), position = the note's leaf index in its tree."""
    for name, value in (("nk", nk), ("cm", cm), ("position", position)):
        if not 0 <= value < FIELD_MODULUS:
            raise NullifierError(f"{name} = {value} is not a BN254 field element")
    return poseidon(nk, cm, position)
