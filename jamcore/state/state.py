"""The complete JAM state sigma (graypaper section 4.2, eq. 4.4), as one frozen record.

sigma = (alpha, beta, theta, gamma, delta, eta, iota, kappa, lambda, rho, tau, phi, chi, psi,
pi, omega, xi) (eq. 4.4). Safrole's gamma is held as its four parts (eq. 6.3). Each component
is a shared record of `jamcore.types` or of `jamcore.safrole.state`; the serialization T of
Appendix D.2 maps this record to state keyvals (`state_to_keyvals`) and back
(`state_from_keyvals`), with the per-row encodings of `jamcore.state.serialize`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from jamcore.safrole.state import SealingKeySeries, TicketBody, ValidatorKey
from jamcore.spec import ChainSpec
from jamcore.state.keys import STATE_KEY_LENGTH, component_key, service_account_key
from jamcore.state.serialize import (
    MalformedState,
    decode_accumulated,
    decode_accumulation_outputs,
    decode_auth_pools,
    decode_auth_queues,
    decode_availability,
    decode_disputes,
    decode_entropy,
    decode_privileges,
    decode_ready_queue,
    decode_recent_blocks,
    decode_safrole,
    decode_service_info,
    decode_slot,
    decode_statistics,
    decode_validators,
    encode_accumulated,
    encode_accumulation_outputs,
    encode_auth_pools,
    encode_auth_queues,
    encode_availability,
    encode_disputes,
    encode_entropy,
    encode_privileges,
    encode_ready_queue,
    encode_recent_blocks,
    encode_safrole,
    encode_service_info,
    encode_slot,
    encode_statistics,
    encode_validators,
)
from jamcore.types import (
    AccumulationOutput,
    AuthPools,
    AuthQueues,
    Availability,
    DisputesRecords,
    Entropy,
    Privileges,
    ReadyRecord,
    RecentBlocks,
    ServiceAccount,
    ServiceInfo,
    Statistics,
)

ValidatorSet = tuple[ValidatorKey, ...]
"""V validator key tuples (section 6.3)."""

__all__ = [
    "AuthPools",
    "AuthQueues",
    "MalformedState",
    "State",
    "ValidatorSet",
    "component_keyvals",
    "service_of_key",
    "state_from_keyvals",
    "state_to_keyvals",
]


@dataclass(frozen=True)
class State:
    """sigma: the full state (eq. 4.4), fields in the order of eq. 4.4."""

    auth_pools: AuthPools
    """alpha: the authorizer pool of each core (section 8.1)."""
    recent_blocks: RecentBlocks
    """beta: the recent-block history beta_H and accumulation-output MMR beta_B (section 7.1)."""
    accumulation_outputs: tuple[AccumulationOutput, ...]
    """theta: the last accumulation's outputs, (service id, hash) pairs (section 7.1)."""
    gamma_k: ValidatorSet
    """gamma_k: Safrole's pending validators of the next epoch (section 6.1)."""
    gamma_z: bytes
    """gamma_z: the epoch root, the ring commitment to gamma_k's Bandersnatch keys (section 6.5)."""
    gamma_s: SealingKeySeries
    """gamma_s: the current epoch's sealing-key series, tickets or fallback keys (section 6.5)."""
    gamma_a: tuple[TicketBody, ...]
    """gamma_a: the ticket accumulator of the next epoch, ascending by id (section 6.7)."""
    services: dict[int, ServiceAccount]
    """delta: the service accounts by service id (section 9.1)."""
    entropy: Entropy
    """eta: the entropy accumulator eta_0 and the last three epochs' entropies (section 6.4)."""
    next_validators: ValidatorSet
    """iota: the validators staged for the epoch after next (section 6.3)."""
    current_validators: ValidatorSet
    """kappa: the validators of the current epoch (section 6.3)."""
    previous_validators: ValidatorSet
    """lambda: the validators of the previous epoch (section 6.3)."""
    availability: Availability
    """rho: each core's work report pending availability, if any (section 11.1)."""
    slot: int
    """tau: the slot of the most recent block (section 6.1)."""
    auth_queues: AuthQueues
    """phi: the authorizer queue of each core (section 8.1)."""
    privileges: Privileges
    """chi: the privileged services (section 9.4)."""
    disputes: DisputesRecords
    """psi: the judgement records good, bad, wonky and the offenders (section 10.1)."""
    statistics: Statistics
    """pi: validator (current, last), core and service activity statistics (section 13)."""
    ready_queue: tuple[tuple[ReadyRecord, ...], ...]
    """omega (vartheta): E slots of reports ready for accumulation with their dependencies
    (section 12.1)."""
    accumulated: tuple[tuple[bytes, ...], ...]
    """xi: E slots of the hashes of the work packages accumulated in them (section 12.1)."""


# --- T(sigma) and its inverse (eq. D.2) ---------------------------------------------

_KEYS = {index: component_key(index) for index in range(1, 17)}
_ZERO_TAIL = bytes(STATE_KEY_LENGTH - 1)
_ZERO_SERVICE_TAIL = bytes(STATE_KEY_LENGTH - 8)


def service_of_key(key: bytes) -> int:
    """The service id interleaved in octets 0, 2, 4, 6 of a C(s, h) or C(255, s) key
    (eq. D.1): for C(255, s) it sits in octets 1, 3, 5, 7."""
    if key[0] == 255 and _is_service_account_key(key):
        return key[1] | key[3] << 8 | key[5] << 16 | key[7] << 24
    return key[0] | key[2] << 8 | key[4] << 16 | key[6] << 24


def _is_service_account_key(key: bytes) -> bool:
    return key[2] == 0 and key[4] == 0 and key[6] == 0 and key[8:] == _ZERO_SERVICE_TAIL


def component_keyvals(state: State, spec: ChainSpec) -> dict[bytes, bytes]:
    """The sixteen components C(1)..C(16) of T(sigma) (eq. D.2), without the services."""
    keys = _KEYS
    return {
        keys[1]: encode_auth_pools(state.auth_pools, spec),
        keys[2]: encode_auth_queues(state.auth_queues, spec),
        keys[3]: encode_recent_blocks(state.recent_blocks, spec),
        keys[4]: encode_safrole(state.gamma_k, state.gamma_z, state.gamma_s, state.gamma_a, spec),
        keys[5]: encode_disputes(state.disputes),
        keys[6]: encode_entropy(state.entropy),
        keys[7]: encode_validators(state.next_validators, spec),
        keys[8]: encode_validators(state.current_validators, spec),
        keys[9]: encode_validators(state.previous_validators, spec),
        keys[10]: encode_availability(state.availability, spec),
        keys[11]: encode_slot(state.slot),
        keys[12]: encode_privileges(state.privileges, spec),
        keys[13]: encode_statistics(state.statistics, spec),
        keys[14]: encode_ready_queue(state.ready_queue, spec),
        keys[15]: encode_accumulated(state.accumulated, spec),
        keys[16]: encode_accumulation_outputs(state.accumulation_outputs),
    }


def state_to_keyvals(state: State, spec: ChainSpec) -> dict[bytes, bytes]:
    """T(sigma): the serialized state, state key -> value (eq. D.2)."""
    keyvals = component_keyvals(state, spec)
    for service, account in state.services.items():
        keyvals[service_account_key(service)] = encode_service_info(account.info)
        for key, value in account.entries.items():
            # Verify each item's key is a data key C(s, h) of this very service (eq. D.1).
            if len(key) != STATE_KEY_LENGTH or service_of_key(key) != service:
                raise MalformedState(
                    f"service {service}: entry key 0x{bytes(key).hex()} is not one of its keys"
                )
            keyvals[key] = value
    return keyvals


def state_from_keyvals(keyvals: Mapping[bytes, bytes], spec: ChainSpec) -> State:
    """T^-1: the state whose serialization (eq. D.2) is `keyvals`. MalformedState if a key
    is not a state key of D.1, a component is missing or a value does not decode."""
    components: dict[int, bytes] = {}
    infos: dict[int, ServiceInfo] = {}
    entries: dict[int, dict[bytes, bytes]] = {}
    for key, value in keyvals.items():
        # Verify every key is 31 octets (eq. D.1).
        if len(key) != STATE_KEY_LENGTH:
            raise MalformedState(f"state key 0x{bytes(key).hex()} is not 31 octets")
        head = key[0]
        if head == 255 and _is_service_account_key(key):
            service = key[1] | key[3] << 8 | key[5] << 16 | key[7] << 24
            infos[service] = decode_service_info(value)
        elif key[1:] == _ZERO_TAIL:
            # Verify a component key names a component of eq. D.2.
            if not 1 <= head <= 16:
                raise MalformedState(f"unknown state component C({head})")
            components[head] = value
        else:
            service = head | key[2] << 8 | key[4] << 16 | key[6] << 24
            entries.setdefault(service, {})[key] = value
    # Verify all sixteen components are present.
    missing = [index for index in range(1, 17) if index not in components]
    if missing:
        raise MalformedState(f"state components missing: {', '.join(f'C({i})' for i in missing)}")
    # Verify every service data item belongs to an account (eq. D.2).
    orphans = sorted(set(entries) - set(infos))
    if orphans:
        raise MalformedState(f"data keys of services without an account record: {orphans}")
    gamma_k, gamma_z, gamma_s, gamma_a = decode_safrole(components[4], spec)
    return State(
        auth_pools=decode_auth_pools(components[1], spec),
        recent_blocks=decode_recent_blocks(components[3], spec),
        accumulation_outputs=decode_accumulation_outputs(components[16]),
        gamma_k=gamma_k,
        gamma_z=gamma_z,
        gamma_s=gamma_s,
        gamma_a=gamma_a,
        services={
            service: ServiceAccount(info, entries.get(service, {}))
            for service, info in sorted(infos.items())
        },
        entropy=decode_entropy(components[6]),
        next_validators=decode_validators(components[7], spec),
        current_validators=decode_validators(components[8], spec),
        previous_validators=decode_validators(components[9], spec),
        availability=decode_availability(components[10], spec),
        slot=decode_slot(components[11]),
        auth_queues=decode_auth_queues(components[2], spec),
        privileges=decode_privileges(components[12], spec),
        disputes=decode_disputes(components[5]),
        statistics=decode_statistics(components[13], spec),
        ready_queue=decode_ready_queue(components[14], spec),
        accumulated=decode_accumulated(components[15], spec),
    )
