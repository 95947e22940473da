"""Safrole's state, input and output as typed records, and their JSON form.

The state is graypaper eq. 6.3-6.8 plus what Safrole reads and writes around it: the slot
tau, the entropy eta, and the validator sets lambda, kappa, gamma_k and iota. The JSON form
is the one of the w3f `stf/safrole` vectors (hex strings with a 0x prefix).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jamcore.crypto.bandersnatch import PUBLIC_KEY_BYTES as BANDERSNATCH_KEY_BYTES
from jamcore.crypto.bandersnatch import RING_COMMITMENT_BYTES, RING_PROOF_BYTES
from jamcore.safrole.errors import MalformedKey, SafroleError, ensure
from jamcore.spec import ChainSpec

HASH_BYTES = 32
ED25519_KEY_BYTES = 32
BLS_KEY_BYTES = 144
"""Octets of a validator's BLS key (eq. 6.11)."""
METADATA_BYTES = 128
"""Octets of a validator's metadata (eq. 6.13)."""

Json = Any


@dataclass(frozen=True)
class ValidatorKey:
    """A validator's key tuple, 336 bytes in all (graypaper eq. 6.9-6.13)."""

    bandersnatch: bytes
    ed25519: bytes
    bls: bytes
    metadata: bytes

    def __post_init__(self) -> None:
        for name, size in (
            ("bandersnatch", BANDERSNATCH_KEY_BYTES),
            ("ed25519", ED25519_KEY_BYTES),
            ("bls", BLS_KEY_BYTES),
            ("metadata", METADATA_BYTES),
        ):
            value = getattr(self, name)
            ensure(
                isinstance(value, bytes) and len(value) == size,
                MalformedKey(f"validator {name} key must be {size} bytes, got {value!r:.60}"),
            )

    @staticmethod
    def null() -> ValidatorKey:
        """[0, 0, ...]: the key an offender is replaced by (eq. 6.14)."""
        return ValidatorKey(
            bytes(BANDERSNATCH_KEY_BYTES),
            bytes(ED25519_KEY_BYTES),
            bytes(BLS_KEY_BYTES),
            bytes(METADATA_BYTES),
        )


@dataclass(frozen=True, order=True)
class TicketBody:
    """A ticket: its identifier, the ring VRF output, and its attempt index (eq. 6.6)."""

    id: bytes
    attempt: int


@dataclass(frozen=True)
class TicketEnvelope:
    """A ticket submission in the extrinsic: attempt index and ring VRF proof (eq. 6.29)."""

    attempt: int
    signature: bytes


@dataclass(frozen=True)
class EpochMarkValidatorKeys:
    """A next-epoch validator's Bandersnatch and ed25519 keys, as in the epoch mark."""

    bandersnatch: bytes
    ed25519: bytes


@dataclass(frozen=True)
class EpochMark:
    """H_e: the new epoch's entropy eta_0, eta_1 and the pending validator keys (eq. 6.27)."""

    entropy: bytes
    tickets_entropy: bytes
    validators: tuple[EpochMarkValidatorKeys, ...]


@dataclass(frozen=True)
class TicketSeries:
    """gamma_s in regular operation: the epoch's E winning tickets in slot order (eq. 6.24)."""

    tickets: tuple[TicketBody, ...]


@dataclass(frozen=True)
class FallbackSeries:
    """gamma_s in fallback mode: E Bandersnatch keys chosen from entropy (eq. 6.26)."""

    keys: tuple[bytes, ...]


SealingKeySeries = TicketSeries | FallbackSeries


@dataclass(frozen=True)
class SafroleState:
    """The state Safrole reads and writes (graypaper eq. 6.3-6.8, 6.21)."""

    slot: int
    """tau: the slot of the most recent block."""
    entropy: tuple[bytes, bytes, bytes, bytes]
    """eta: the entropy accumulator eta_0 and its values at the last three epoch ends."""
    previous_validators: tuple[ValidatorKey, ...]
    """lambda: the validators of the prior epoch."""
    active_validators: tuple[ValidatorKey, ...]
    """kappa: the validators of the current epoch."""
    pending_validators: tuple[ValidatorKey, ...]
    """gamma_k: the validators of the next epoch, whose keys form the epoch root."""
    staged_validators: tuple[ValidatorKey, ...]
    """iota: the validators queued to become pending at the next epoch."""
    ticket_accumulator: tuple[TicketBody, ...]
    """gamma_a: the best tickets so far for the next epoch, ascending by id."""
    sealing_keys: SealingKeySeries
    """gamma_s: the current epoch's sealer of each slot."""
    epoch_root: bytes
    """gamma_z: the ring commitment to the pending validators' Bandersnatch keys."""


@dataclass(frozen=True)
class SafroleInput:
    """A block's inputs to Safrole: its slot H_t, Y(H_v) and its tickets extrinsic E_T."""

    slot: int
    entropy: bytes
    tickets: tuple[TicketEnvelope, ...]


@dataclass(frozen=True)
class SafroleOutput:
    """The header markers a block must carry: H_e and H_w (eq. 6.27-6.28)."""

    epoch_mark: EpochMark | None
    tickets_mark: tuple[TicketBody, ...] | None


def check_state(state: SafroleState, spec: ChainSpec) -> None:
    """Raise MalformedKey unless `state` has the shapes `spec` demands (V keys, E sealers)."""
    for name in (
        "previous_validators",
        "active_validators",
        "pending_validators",
        "staged_validators",
    ):
        count = len(getattr(state, name))
        ensure(
            count == spec.validators_count,
            MalformedKey(f"{name} holds {count} keys, expected V = {spec.validators_count}"),
        )
    series = state.sealing_keys
    count = len(series.tickets if isinstance(series, TicketSeries) else series.keys)
    ensure(
        count == spec.epoch_length,
        MalformedKey(f"sealing_keys holds {count} entries, expected E = {spec.epoch_length}"),
    )
    ensure(
        len(state.ticket_accumulator) <= spec.epoch_length,
        MalformedKey(f"ticket_accumulator holds {len(state.ticket_accumulator)} > E tickets"),
    )
    ensure(
        len(state.epoch_root) == RING_COMMITMENT_BYTES,
        MalformedKey(f"epoch_root must be {RING_COMMITMENT_BYTES} bytes"),
    )
    ensure(
        len(state.entropy) == 4 and all(len(eta) == HASH_BYTES for eta in state.entropy),
        MalformedKey("entropy must be four 32-byte hashes"),
    )


# --- JSON (the w3f vectors' form) ---------------------------------------------------------


def hex_bytes(value: Json, size: int | None, what: str) -> bytes:
    """Decode a 0x-prefixed hex string of `size` bytes; MalformedKey naming `what` if not."""
    ensure(
        isinstance(value, str) and value.startswith("0x"),
        MalformedKey(f"{what} must be a 0x-prefixed hex string, got {value!r:.60}"),
    )
    try:
        decoded = bytes.fromhex(value[2:])
    except ValueError as error:
        raise MalformedKey(f"{what} is not hex: {value!r:.60}") from error
    ensure(
        size is None or len(decoded) == size,
        MalformedKey(f"{what} must be {size} bytes, got {len(decoded)}"),
    )
    return decoded


def to_hex(value: bytes) -> str:
    """0x-prefixed lower-case hex, as in the vectors."""
    return "0x" + value.hex()


def _validators_from_json(items: Sequence[Json], what: str) -> tuple[ValidatorKey, ...]:
    return tuple(
        ValidatorKey(
            hex_bytes(item["bandersnatch"], BANDERSNATCH_KEY_BYTES, f"{what}[{i}].bandersnatch"),
            hex_bytes(item["ed25519"], ED25519_KEY_BYTES, f"{what}[{i}].ed25519"),
            hex_bytes(item["bls"], BLS_KEY_BYTES, f"{what}[{i}].bls"),
            hex_bytes(item["metadata"], METADATA_BYTES, f"{what}[{i}].metadata"),
        )
        for i, item in enumerate(items)
    )


def _validators_to_json(keys: Sequence[ValidatorKey]) -> list[Json]:
    return [
        {
            "bandersnatch": to_hex(key.bandersnatch),
            "ed25519": to_hex(key.ed25519),
            "bls": to_hex(key.bls),
            "metadata": to_hex(key.metadata),
        }
        for key in keys
    ]


def ticket_from_json(item: Mapping[str, Json], what: str = "ticket") -> TicketBody:
    """A TicketBody from {"id": hex, "attempt": int}."""
    attempt = item["attempt"]
    ensure(isinstance(attempt, int), MalformedKey(f"{what}.attempt must be an integer"))
    return TicketBody(hex_bytes(item["id"], HASH_BYTES, f"{what}.id"), attempt)


def ticket_to_json(ticket: TicketBody) -> Json:
    """{"id": hex, "attempt": int}."""
    return {"id": to_hex(ticket.id), "attempt": ticket.attempt}


def state_from_json(data: Mapping[str, Json]) -> SafroleState:
    """A SafroleState from a vector's pre_state/post_state (post_offenders is read apart)."""
    try:
        series_json = data["gamma_s"]
        if "tickets" in series_json:
            series: SealingKeySeries = TicketSeries(
                tuple(
                    ticket_from_json(t, f"gamma_s.tickets[{i}]")
                    for i, t in enumerate(series_json["tickets"])
                )
            )
        else:
            series = FallbackSeries(
                tuple(
                    hex_bytes(k, BANDERSNATCH_KEY_BYTES, f"gamma_s.keys[{i}]")
                    for i, k in enumerate(series_json["keys"])
                )
            )
        entropy = tuple(
            hex_bytes(eta, HASH_BYTES, f"eta[{i}]") for i, eta in enumerate(data["eta"])
        )
        ensure(len(entropy) == 4, MalformedKey(f"eta must hold 4 hashes, got {len(entropy)}"))
        return SafroleState(
            slot=int(data["tau"]),
            entropy=entropy,  # type: ignore[arg-type]
            previous_validators=_validators_from_json(data["lambda"], "lambda"),
            active_validators=_validators_from_json(data["kappa"], "kappa"),
            pending_validators=_validators_from_json(data["gamma_k"], "gamma_k"),
            staged_validators=_validators_from_json(data["iota"], "iota"),
            ticket_accumulator=tuple(
                ticket_from_json(t, f"gamma_a[{i}]") for i, t in enumerate(data["gamma_a"])
            ),
            sealing_keys=series,
            epoch_root=hex_bytes(data["gamma_z"], RING_COMMITMENT_BYTES, "gamma_z"),
        )
    except (KeyError, TypeError) as error:
        raise MalformedKey(f"Safrole state JSON is missing or mistypes {error}") from error


def state_to_json(state: SafroleState) -> dict[str, Json]:
    """The vectors' JSON form of `state` (without post_offenders)."""
    series = state.sealing_keys
    series_json = (
        {"tickets": [ticket_to_json(t) for t in series.tickets]}
        if isinstance(series, TicketSeries)
        else {"keys": [to_hex(k) for k in series.keys]}
    )
    return {
        "tau": state.slot,
        "eta": [to_hex(eta) for eta in state.entropy],
        "lambda": _validators_to_json(state.previous_validators),
        "kappa": _validators_to_json(state.active_validators),
        "gamma_k": _validators_to_json(state.pending_validators),
        "iota": _validators_to_json(state.staged_validators),
        "gamma_a": [ticket_to_json(t) for t in state.ticket_accumulator],
        "gamma_s": series_json,
        "gamma_z": to_hex(state.epoch_root),
    }


def offenders_from_json(data: Mapping[str, Json]) -> frozenset[bytes]:
    """psi'_o: the posterior offenders' ed25519 keys, from a vector state's post_offenders."""
    return frozenset(
        hex_bytes(k, ED25519_KEY_BYTES, f"post_offenders[{i}]")
        for i, k in enumerate(data.get("post_offenders", []))
    )


def input_from_json(data: Mapping[str, Json]) -> SafroleInput:
    """A SafroleInput from a vector's input: slot, entropy and extrinsic."""
    try:
        tickets = tuple(
            TicketEnvelope(
                int(item["attempt"]),
                hex_bytes(item["signature"], RING_PROOF_BYTES, f"extrinsic[{i}].signature"),
            )
            for i, item in enumerate(data["extrinsic"])
        )
        return SafroleInput(
            slot=int(data["slot"]),
            entropy=hex_bytes(data["entropy"], HASH_BYTES, "entropy"),
            tickets=tickets,
        )
    except (KeyError, TypeError) as error:
        raise MalformedKey(f"Safrole input JSON is missing or mistypes {error}") from error


def output_to_json(result: SafroleOutput | SafroleError) -> dict[str, Json]:
    """{"ok": {"epoch_mark", "tickets_mark"}} or {"err": code}, as in the vectors."""
    if isinstance(result, SafroleError):
        return {"err": result.code}
    mark = result.epoch_mark
    return {
        "ok": {
            "epoch_mark": None
            if mark is None
            else {
                "entropy": to_hex(mark.entropy),
                "tickets_entropy": to_hex(mark.tickets_entropy),
                "validators": [
                    {"bandersnatch": to_hex(v.bandersnatch), "ed25519": to_hex(v.ed25519)}
                    for v in mark.validators
                ],
            },
            "tickets_mark": None
            if result.tickets_mark is None
            else [ticket_to_json(t) for t in result.tickets_mark],
        }
    }
