"""State serialization T of graypaper Appendix D.2 (eq. D.2, v0.7.2) and its inverse.

T(sigma) maps each state component to a value under its key C(i) (eq. D.1), each service
account's record to C(255, s), and each storage item, preimage and preimage request of a
service to C(s, h). This module has one encode/decode pair per row of eq. D.2;
`jamcore.state.state.state_to_keyvals` / `state_from_keyvals` apply them to a whole `State`.

All numbers in the rows are fixed-width (E_4, E_8) except the length prefixes of variable
sequences and the core and service activity counts of C(13), which are variable naturals.
Storage and preimage values are stored as they are; a service's items are kept by their
31-octet state key in `ServiceAccount.entries`, since their raw keys are hashed into C(s, h).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jamcore.codec import (
    U32,
    Codec,
    CodecError,
    Reader,
    encode_natural,
    read_natural,
)
from jamcore.crypto.bandersnatch import RING_COMMITMENT_BYTES
from jamcore.errors import JamError
from jamcore.safrole.state import (
    FallbackSeries,
    SealingKeySeries,
    TicketBody,
    TicketSeries,
)
from jamcore.spec import ChainSpec
from jamcore.types import (
    ACCUMULATION_OUTPUTS,
    DISPUTES_RECORDS,
    ENTROPY,
    REQUEST_STATUS,
    SERVICE_INFO,
    AccumulationOutput,
    AuthPools,
    AuthQueues,
    Availability,
    DisputesRecords,
    Entropy,
    Privileges,
    ReadyRecord,
    RecentBlocks,
    ServiceInfo,
    Statistics,
    accumulated_codec,
    auth_pools_codec,
    auth_queues_codec,
    availability_codec,
    privileges_codec,
    ready_queue_codec,
    recent_blocks_codec,
    statistics_codec,
    validators_codec,
)

if TYPE_CHECKING:
    from jamcore.state.state import ValidatorSet


class MalformedState(JamError):
    """Serialized state (keyvals) that is not T(sigma) of any state (Appendix D.2): an
    unknown or missing key, a value that does not decode, or trailing octets."""

    code = "malformed_state"


TICKET_BODY_SIZE = 33


def _decode(codec: Codec, data: bytes, row: str) -> object:
    """codec.decode(data), with a codec failure reported as MalformedState naming the row."""
    try:
        return codec.decode(data)
    except CodecError as error:
        raise MalformedState(f"{row}: {error}") from error


def _encode(codec: Codec, value: object, row: str) -> bytes:
    try:
        return codec.encode(value)
    except (CodecError, AttributeError, TypeError) as error:
        raise MalformedState(f"{row}: cannot encode: {error}") from error


def encode_auth_pools(auth_pools: AuthPools, spec: ChainSpec) -> bytes:
    """C(1) -> E([↕x | x <- alpha]): each core's pool, length-prefixed (eq. D.2)."""
    return _encode(auth_pools_codec(spec), auth_pools, "C(1)")


def decode_auth_pools(data: bytes, spec: ChainSpec) -> AuthPools:
    """Inverse of `encode_auth_pools` (eq. D.2, C(1))."""
    return _decode(auth_pools_codec(spec), data, "C(1) auth pools")  # type: ignore[return-value]


def encode_auth_queues(auth_queues: AuthQueues, spec: ChainSpec) -> bytes:
    """C(2) -> E(phi): C queues of exactly Q hashes (eq. D.2)."""
    return _encode(auth_queues_codec(spec), auth_queues, "C(2)")


def decode_auth_queues(data: bytes, spec: ChainSpec) -> AuthQueues:
    """Inverse of `encode_auth_queues` (eq. D.2, C(2))."""
    return _decode(auth_queues_codec(spec), data, "C(2) auth queues")  # type: ignore[return-value]


def encode_recent_blocks(recent_blocks: RecentBlocks, spec: ChainSpec) -> bytes:
    """C(3) -> E(↕[(h, b, s, ↕p)], E_M(beta_B)) (eq. D.2)."""
    return _encode(recent_blocks_codec(spec), recent_blocks, "C(3)")


def decode_recent_blocks(data: bytes, spec: ChainSpec) -> RecentBlocks:
    """Inverse of `encode_recent_blocks` (eq. D.2, C(3))."""
    return _decode(recent_blocks_codec(spec), data, "C(3) recent blocks")  # type: ignore[return-value]


def encode_safrole(
    gamma_k: ValidatorSet,
    gamma_z: bytes,
    gamma_s: SealingKeySeries,
    gamma_a: tuple[TicketBody, ...],
    spec: ChainSpec,
) -> bytes:
    """C(4) -> E(gamma_k, gamma_z, {0 tickets | 1 keys}, gamma_s, ↕gamma_a) (eq. D.2);
    a ticket is E(y, E_1(r)) (Appendix C)."""
    # Verify the fixed sizes, which the decoder relies on.
    if len(gamma_z) != RING_COMMITMENT_BYTES:
        raise MalformedState(f"C(4): gamma_z has {len(gamma_z)} octets")
    out = bytearray(_encode(validators_codec(spec), gamma_k, "C(4) gamma_k"))
    out += gamma_z
    if isinstance(gamma_s, TicketSeries):
        entries: tuple = gamma_s.tickets
        out.append(0)
        _put_tickets(gamma_s.tickets, out)
    else:
        entries = gamma_s.keys
        out.append(1)
        for key in gamma_s.keys:
            if len(key) != 32:
                raise MalformedState("C(4): a fallback sealing key is not 32 octets")
            out += key
    if len(entries) != spec.epoch_length:
        raise MalformedState(f"C(4): gamma_s has {len(entries)} entries, not E")
    out += encode_natural(len(gamma_a))
    _put_tickets(gamma_a, out)
    return bytes(out)


def _put_tickets(tickets: tuple[TicketBody, ...], out: bytearray) -> None:
    for ticket in tickets:
        if len(ticket.id) != 32 or not 0 <= ticket.attempt < 256:
            raise MalformedState(f"C(4): malformed ticket {ticket!r:.80}")
        out += ticket.id
        out.append(ticket.attempt)


def _read_tickets(reader: Reader, count: int) -> tuple[TicketBody, ...]:
    raw = reader.read(count * TICKET_BODY_SIZE)
    return tuple(
        TicketBody(raw[i : i + 32], raw[i + 32])
        for i in range(0, count * TICKET_BODY_SIZE, TICKET_BODY_SIZE)
    )


def decode_safrole(
    data: bytes, spec: ChainSpec
) -> tuple[ValidatorSet, bytes, SealingKeySeries, tuple[TicketBody, ...]]:
    """Inverse of `encode_safrole`: (gamma_k, gamma_z, gamma_s, gamma_a) (eq. D.2, C(4))."""
    reader = Reader(data)
    try:
        gamma_k = validators_codec(spec).read(reader)
        gamma_z = reader.read(RING_COMMITMENT_BYTES)
        discriminator = reader.read_byte()
        gamma_s: SealingKeySeries
        if discriminator == 0:
            gamma_s = TicketSeries(_read_tickets(reader, spec.epoch_length))
        elif discriminator == 1:
            raw = reader.read(32 * spec.epoch_length)
            gamma_s = FallbackSeries(tuple(raw[i : i + 32] for i in range(0, len(raw), 32)))
        else:
            raise MalformedState(f"C(4): sealing-key discriminator {discriminator}")
        count = read_natural(reader)
        # Verify the accumulator holds at most E tickets (eq. 6.5).
        if count > spec.epoch_length:
            raise MalformedState(f"C(4): gamma_a holds {count} > E tickets")
        gamma_a = _read_tickets(reader, count)
    except CodecError as error:
        raise MalformedState(f"C(4) safrole: {error}") from error
    # Verify nothing trails the last field.
    if reader.remaining():
        raise MalformedState(f"C(4) safrole: {reader.remaining()} trailing octets")
    return gamma_k, gamma_z, gamma_s, gamma_a


def encode_disputes(disputes: DisputesRecords) -> bytes:
    """C(5) -> E(↕psi_G, ↕psi_B, ↕psi_W, ↕psi_O), each ordered (eq. D.2)."""
    return _encode(DISPUTES_RECORDS, disputes, "C(5)")


def decode_disputes(data: bytes) -> DisputesRecords:
    """Inverse of `encode_disputes` (eq. D.2, C(5))."""
    return _decode(DISPUTES_RECORDS, data, "C(5) disputes")  # type: ignore[return-value]


def encode_entropy(entropy: Entropy) -> bytes:
    """C(6) -> E(eta): four hashes (eq. D.2)."""
    return _encode(ENTROPY, entropy, "C(6)")


def decode_entropy(data: bytes) -> Entropy:
    """Inverse of `encode_entropy` (eq. D.2, C(6))."""
    return _decode(ENTROPY, data, "C(6) entropy")  # type: ignore[return-value]


def encode_validators(validators: ValidatorSet, spec: ChainSpec) -> bytes:
    """C(7) -> E(iota), C(8) -> E(kappa), C(9) -> E(lambda): V key tuples of 336 octets
    (eq. D.2)."""
    return _encode(validators_codec(spec), validators, "C(7..9)")


def decode_validators(data: bytes, spec: ChainSpec) -> ValidatorSet:
    """Inverse of `encode_validators` (eq. D.2, C(7), C(8), C(9))."""
    return _decode(validators_codec(spec), data, "C(7..9) validators")  # type: ignore[return-value]


def encode_availability(availability: Availability, spec: ChainSpec) -> bytes:
    """C(10) -> E([¿(r, E_4(t))]): each core's optional report and its slot (eq. D.2)."""
    return _encode(availability_codec(spec), availability, "C(10)")


def decode_availability(data: bytes, spec: ChainSpec) -> Availability:
    """Inverse of `encode_availability` (eq. D.2, C(10))."""
    return _decode(availability_codec(spec), data, "C(10) availability")  # type: ignore[return-value]


def encode_slot(slot: int) -> bytes:
    """C(11) -> E_4(tau) (eq. D.2)."""
    return _encode(U32, slot, "C(11)")


def decode_slot(data: bytes) -> int:
    """Inverse of `encode_slot` (eq. D.2, C(11))."""
    return _decode(U32, data, "C(11) slot")  # type: ignore[return-value]


def encode_privileges(privileges: Privileges, spec: ChainSpec) -> bytes:
    """C(12) -> E(E_4(chi_M, chi_A, chi_V, chi_R), chi_Z) with chi_Z the ordered
    (E_4(s), E_8(g)) pairs (eq. D.2)."""
    return _encode(privileges_codec(spec), privileges, "C(12)")


def decode_privileges(data: bytes, spec: ChainSpec) -> Privileges:
    """Inverse of `encode_privileges` (eq. D.2, C(12))."""
    return _decode(privileges_codec(spec), data, "C(12) privileges")  # type: ignore[return-value]


def encode_statistics(statistics: Statistics, spec: ChainSpec) -> bytes:
    """C(13) -> E(E_4(pi_V, pi_L), pi_C, pi_S): validator counts in E_4, core and service
    counts as naturals, services ordered by id (eq. D.2)."""
    return _encode(statistics_codec(spec), statistics, "C(13)")


def decode_statistics(data: bytes, spec: ChainSpec) -> Statistics:
    """Inverse of `encode_statistics` (eq. D.2, C(13))."""
    return _decode(statistics_codec(spec), data, "C(13) statistics")  # type: ignore[return-value]


def encode_ready_queue(ready_queue: tuple[tuple[ReadyRecord, ...], ...], spec: ChainSpec) -> bytes:
    """C(14) -> E([↕[(r, ↕d) | (r, d) <- i] | i <- omega]): E slots (eq. D.2)."""
    return _encode(ready_queue_codec(spec), ready_queue, "C(14)")


def decode_ready_queue(data: bytes, spec: ChainSpec) -> tuple[tuple[ReadyRecord, ...], ...]:
    """Inverse of `encode_ready_queue` (eq. D.2, C(14))."""
    return _decode(ready_queue_codec(spec), data, "C(14) ready queue")  # type: ignore[return-value]


def encode_accumulated(accumulated: tuple[tuple[bytes, ...], ...], spec: ChainSpec) -> bytes:
    """C(15) -> E([↕i | i <- xi]): E slots of package hashes (eq. D.2)."""
    return _encode(accumulated_codec(spec), accumulated, "C(15)")


def decode_accumulated(data: bytes, spec: ChainSpec) -> tuple[tuple[bytes, ...], ...]:
    """Inverse of `encode_accumulated` (eq. D.2, C(15))."""
    return _decode(accumulated_codec(spec), data, "C(15) accumulated")  # type: ignore[return-value]


def encode_accumulation_outputs(outputs: tuple[AccumulationOutput, ...]) -> bytes:
    """C(16) -> E(↕[(E_4(s), E(h)) | (s, h) <- theta]) (eq. D.2)."""
    return _encode(ACCUMULATION_OUTPUTS, outputs, "C(16)")


def decode_accumulation_outputs(data: bytes) -> tuple[AccumulationOutput, ...]:
    """Inverse of `encode_accumulation_outputs` (eq. D.2, C(16))."""
    return _decode(ACCUMULATION_OUTPUTS, data, "C(16) accumulation outputs")  # type: ignore[return-value]


def encode_service_info(info: ServiceInfo) -> bytes:
    """C(255, s) -> E(0, a_c, E_8(a_b, a_g, a_m, a_o, a_f), E_4(a_i, a_r, a_a, a_p))
    (eq. D.2; the leading version octet is 0 in v0.7.2)."""
    return _encode(SERVICE_INFO, info, "C(255, s)")


def decode_service_info(data: bytes) -> ServiceInfo:
    """Inverse of `encode_service_info` (eq. D.2, C(255, s))."""
    info: ServiceInfo = _decode(SERVICE_INFO, data, "C(255, s) service info")  # type: ignore[assignment]
    # Verify the record's version: v0.7.2 knows only version 0.
    if info.version != 0:
        raise MalformedState(f"C(255, s): unknown service info version {info.version}")
    return info


def encode_request_status(slots: tuple[int, ...]) -> bytes:
    """C(s, E_4(l) ++ h) -> E(↕[E_4(x) | x <- t]): a preimage request's status, at most
    three slots (eq. D.2, eq. 9.7). Storage (C(s, E_4(2^32-1) ++ k)) and preimage
    (C(s, E_4(2^32-2) ++ h)) values are stored as they are."""
    return _encode(REQUEST_STATUS, slots, "C(s, E_4(l) ++ h)")


def decode_request_status(data: bytes) -> tuple[int, ...]:
    """Inverse of `encode_request_status` (eq. D.2)."""
    return _decode(REQUEST_STATUS, data, "C(s, E_4(l) ++ h) request")  # type: ignore[return-value]
