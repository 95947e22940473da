"""circomlib-compatible Poseidon over the BN254 scalar field, for any arity 1..16.

The spend circuit hashes with circomlib's `Poseidon(n)` template, so native code must use the
same permutation and round constants. Arity 2 (the Merkle-tree hot path) runs in Rust through
`light-poseidon-python`; that binding only offers arity 2, so the other arities (ak = H(ask),
nullifiers, note commitments) run the reference permutation here, reading the round constants
and MDS matrices from the circomlib sources that `groth16py` vendors for circuit compilation:
one source of constants for the circuit and the native hash, nothing copied.

Reference: Grassi et al., "Poseidon" (eprint 2019/458), with circomlib's parameters
(x^5 S-box, 8 full rounds, partial rounds per width as in circomlib `poseidon.circom`).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import groth16py
import light_poseidon_python

from shielded.notes.errors import NotesError

FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617
"""r: the order of BN254's scalar field, the field circom signals live in."""

FULL_ROUNDS = 8
PARTIAL_ROUNDS = (56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68)
"""Partial rounds per state width t = 2..17 (circomlib `N_ROUNDS_P`)."""

_CONSTANTS_FILE = Path(groth16py.circomlib_path(2)) / "poseidon_constants_old.circom"
_RUST_PAIR = light_poseidon_python.Hasher(2)


class PoseidonError(NotesError):
    """An input that is not a field element, or an unsupported arity."""


def _function_body(source: str, name: str) -> str:
    start = source.index(f"function {name}(t)")
    end = source.find("\nfunction ", start + 1)
    return source[start : end if end >= 0 else len(source)]


def _branch_numbers(body: str, width: int) -> list[int]:
    match = re.search(rf"t == {width}\)\s*\{{\s*return\s*(.*?);", body, re.S)
    if match is None:
        raise PoseidonError(f"no circomlib Poseidon constants for state width {width}")
    return [int(token, 0) for token in re.findall(r"0x[0-9a-fA-F]+|\d+", match.group(1))]


@functools.cache
def _source() -> str:
    return _CONSTANTS_FILE.read_text()


@functools.cache
def _parameters(width: int) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]:
    """Round constants C (flat) and MDS matrix M (rows) for state width t (circomlib)."""
    source = _source()
    constants = _branch_numbers(_function_body(source, "POSEIDON_C"), width)
    flat = _branch_numbers(_function_body(source, "POSEIDON_M"), width)
    rounds = FULL_ROUNDS + PARTIAL_ROUNDS[width - 2]
    if len(constants) != rounds * width or len(flat) != width * width:
        raise PoseidonError(f"malformed circomlib Poseidon constants for width {width}")
    matrix = tuple(tuple(flat[row * width : (row + 1) * width]) for row in range(width))
    return tuple(constants), matrix


def _check_inputs(inputs: tuple[int, ...]) -> None:
    if not 1 <= len(inputs) <= len(PARTIAL_ROUNDS):
        raise PoseidonError(f"Poseidon arity {len(inputs)} unsupported: expected 1..16")
    for index, value in enumerate(inputs):
        if not isinstance(value, int) or not 0 <= value < FIELD_MODULUS:
            raise PoseidonError(
                f"Poseidon input {index} = {value!r} is not a BN254 field element (0 <= x < r)"
            )


def poseidon_reference(*inputs: int) -> int:
    """Poseidon(inputs) by the reference permutation (Poseidon paper, Algorithm 1).

    State = [0, inputs...]; each round adds constants, applies x^5 to every element (full
    rounds: the first and last four) or to element 0 (partial rounds), then multiplies by M.
    The hash is element 0 of the final state, as circomlib's `Poseidon(n).out`.
    """
    _check_inputs(inputs)
    p = FIELD_MODULUS
    width = len(inputs) + 1
    constants, matrix = _parameters(width)
    partial = PARTIAL_ROUNDS[width - 2]
    half = FULL_ROUNDS // 2
    state = [0, *inputs]
    for round_index in range(FULL_ROUNDS + partial):
        offset = round_index * width
        state = [(x + constants[offset + i]) % p for i, x in enumerate(state)]
        if round_index < half or round_index >= half + partial:
            state = [pow(x, 5, p) for x in state]
        else:
            state[0] = pow(state[0], 5, p)
        state = [sum(m * x for m, x in zip(row, state, strict=True)) % p for row in matrix]
    return state[0]


def poseidon(*inputs: int) -> int:
    """circomlib `Poseidon(n)` of field elements; arity 2 runs natively in Rust."""
    if len(inputs) == 2:
        _check_inputs(inputs)
        return int(_RUST_PAIR.hash(list(inputs)))
    return poseidon_reference(*inputs)


def poseidon_pair(left: int, right: int) -> int:
    """Poseidon(left, right) for inputs already known to be field elements (tree nodes)."""
    return int(_RUST_PAIR.hash([left, right]))
