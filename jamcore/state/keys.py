"""State-key constructors C of graypaper Appendix D.1 (eq. D.1), v0.7.2.

Every entry of the serialized state T(sigma) lives under a 31-octet state key: either a
state component's index (C(i)), a component index with a service id (C(i, s), used with
i = 255 for service account records), or a service id interleaved with the first 27
octets of the blake2b hash of a service-data discriminator (C(s, h), used for storage,
preimages and preimage requests). This module builds those keys and nothing else.
"""

from __future__ import annotations

from jamcore.crypto.hashing import blake2b_256

STATE_KEY_LENGTH = 31
"""Octets in a state key (graypaper v0.7.2: keys are B_31)."""

SERVICE_ACCOUNT_COMPONENT = 255
"""The component index i of C(255, s), the key of a service account's record."""

_MAX_SERVICE_ID = 2**32 - 1


class StateKeyError(ValueError):
    """An input that cannot form a state key, or a state dictionary entry that is not one."""


def _ensure(condition: bool, message: str) -> None:
    if not condition:
        raise StateKeyError(message)


def _check_component(index: int) -> None:
    _ensure(
        isinstance(index, int) and not isinstance(index, bool) and 0 <= index <= 255,
        f"state component index {index!r}: expected an integer in 0..255",
    )


def _check_service(service: int) -> bytes:
    _ensure(
        isinstance(service, int)
        and not isinstance(service, bool)
        and 0 <= service <= _MAX_SERVICE_ID,
        f"service id {service!r}: expected an integer in 0..2^32-1",
    )
    return service.to_bytes(4, "little")


def _check_preimage_hash(preimage_hash: object) -> None:
    _ensure(
        isinstance(preimage_hash, bytes) and len(preimage_hash) == 32,
        f"preimage hash {preimage_hash!r}: expected 32 octets",
    )


def check_state_key(key: object) -> bytes:
    """Return `key` as bytes if it is a 31-octet state key; StateKeyError otherwise."""
    _ensure(
        isinstance(key, bytes | bytearray | memoryview),
        f"state key {key!r}: expected {STATE_KEY_LENGTH} octets, got {type(key).__name__}",
    )
    raw = bytes(key)  # type: ignore[arg-type]
    _ensure(
        len(raw) == STATE_KEY_LENGTH,
        f"state key 0x{raw.hex()}: expected {STATE_KEY_LENGTH} octets, got {len(raw)}",
    )
    return raw


def component_key(index: int) -> bytes:
    """C(i) = [i, 0, 0, ...]: the key of state component i (eq. D.1, first case)."""
    _check_component(index)
    return bytes((index,)) + bytes(STATE_KEY_LENGTH - 1)


def service_component_key(index: int, service: int) -> bytes:
    """C(i, s) = [i, n0, 0, n1, 0, n2, 0, n3, 0, 0, ...] with n = E_4(s) (eq. D.1, second case)."""
    _check_component(index)
    n = _check_service(service)
    head = bytes((index, n[0], 0, n[1], 0, n[2], 0, n[3]))
    return head + bytes(STATE_KEY_LENGTH - len(head))


def service_data_key(service: int, discriminator: bytes) -> bytes:
    """C(s, h) = [n0, a0, n1, a1, n2, a2, n3, a3, a4, ..., a26] with n = E_4(s) and
    a = H(h)[0..27] (eq. D.1, third case)."""
    n = _check_service(service)
    _ensure(
        isinstance(discriminator, bytes | bytearray | memoryview),
        f"service data discriminator {discriminator!r}: expected octets",
    )
    a = blake2b_256(bytes(discriminator))[:27]
    return bytes((n[0], a[0], n[1], a[1], n[2], a[2], n[3], a[3])) + a[4:]


def service_account_key(service: int) -> bytes:
    """C(255, s): the key of service s's account record (eq. D.2)."""
    return service_component_key(SERVICE_ACCOUNT_COMPONENT, service)


def storage_key(service: int, storage_key_octets: bytes) -> bytes:
    """C(s, E_4(2^32 - 1) ++ k): the key of storage item k of service s (eq. D.2)."""
    return service_data_key(service, (2**32 - 1).to_bytes(4, "little") + bytes(storage_key_octets))


def preimage_key(service: int, preimage_hash: bytes) -> bytes:
    """C(s, E_4(2^32 - 2) ++ h): the key of the preimage with hash h of service s (eq. D.2)."""
    _check_preimage_hash(preimage_hash)
    return service_data_key(service, (2**32 - 2).to_bytes(4, "little") + bytes(preimage_hash))


def request_key(service: int, preimage_hash: bytes, length: int) -> bytes:
    """C(s, E_4(l) ++ h): the key of service s's request for a preimage of hash h and
    length l (eq. D.2)."""
    _check_preimage_hash(preimage_hash)
    _ensure(
        isinstance(length, int) and not isinstance(length, bool) and 0 <= length <= _MAX_SERVICE_ID,
        f"preimage length {length!r}: expected an integer in 0..2^32-1",
    )
    return service_data_key(service, length.to_bytes(4, "little") + bytes(preimage_hash))
