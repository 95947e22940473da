"""The accumulation partial state (graypaper 0.7.2 eq. 12.13) as the PVM host calls see it.

A partial state holds the service accounts and the privileged parts of the state that
accumulation may change. It is layered so that the many copies the graypaper takes (one
per accumulating service in Δ*, and one per `checkpoint`) cost only what they change:

- `base`: the accounts as the block found them (immutable `ServiceAccount` records);
- `inherited`: accounts changed by earlier rounds of Δ+ (never mutated once shared);
- `touched`: the accounts this context changed, created (an `AccountView`) or removed
  (None).

An `AccountView` is one account's record with its keyed items: the item map of the
account it started from plus its own changes. It keeps the footprint a_i, a_o (eq. 9.8)
up to date on every storage and request change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from jamcore.codec import decode_natural, encode_natural
from jamcore.state.keys import preimage_key, request_key, storage_key
from jamcore.state.overlay import with_changes
from jamcore.types.services import ServiceAccount, ServiceInfo

ITEM_DEPOSIT = 10
"""B_I: the additional minimum balance per item of elective state (Appendix I.4.4)."""
BYTE_DEPOSIT = 1
"""B_L: the additional minimum balance per octet of elective state (Appendix I.4.4)."""
BASE_DEPOSIT = 100
"""B_S: the basic minimum balance of every service (Appendix I.4.4)."""

_MISSING = object()


def threshold_balance(items: int, octets: int, gratis: int) -> int:
    """a_t = max(0, B_S + B_I a_i + B_L a_o - a_f) (eq. 9.8)."""
    return max(0, BASE_DEPOSIT + ITEM_DEPOSIT * items + BYTE_DEPOSIT * octets - gratis)


def encode_timeslots(slots: tuple[int, ...]) -> bytes:
    """E(↕[E_4(t)]): a preimage request's status in the state (eq. D.2)."""
    return encode_natural(len(slots)) + b"".join(t.to_bytes(4, "little") for t in slots)


def decode_timeslots(value: bytes) -> tuple[int, ...]:
    """The slots of E(↕[E_4(t)])."""
    count, offset = decode_natural(value)
    return tuple(
        int.from_bytes(value[offset + 4 * i : offset + 4 * i + 4], "little") for i in range(count)
    )


class AccountView:
    """A service account during accumulation: record `info`, the item map `entries` it
    started from (never mutated) and its own `changes` (state key -> value, None for a
    removed item)."""

    __slots__ = ("service", "info", "entries", "changes")

    def __init__(
        self,
        service: int,
        info: ServiceInfo,
        entries: Mapping[bytes, bytes],
        changes: dict[bytes, bytes | None] | None = None,
    ) -> None:
        self.service = service
        self.info = info
        self.entries = entries
        self.changes: dict[bytes, bytes | None] = {} if changes is None else changes

    @classmethod
    def of(cls, service: int, account: ServiceAccount) -> AccountView:
        """A view of a state account."""
        assert account.info is not None, f"service {service} has no account record"
        return cls(service, account.info, account.entries)

    def copy(self) -> AccountView:
        """An independent copy (sharing the immutable starting item map)."""
        return AccountView(self.service, self.info, self.entries, dict(self.changes))

    def freeze(self) -> ServiceAccount:
        """The account as a state record: its starting items with its changes overlaid
        (`jamcore.state.overlay`), untouched items shared, not copied."""
        return ServiceAccount(self.info, with_changes(self.entries, self.changes))

    # -- items ----------------------------------------------------------------------------

    def get(self, key: bytes) -> bytes | None:
        """The item under state key `key`, or None."""
        value = self.changes.get(key, _MISSING)
        if value is _MISSING:
            return self.entries.get(key)
        return value  # type: ignore[return-value]

    def storage(self, raw_key: bytes) -> bytes | None:
        """a_s[k]."""
        return self.get(storage_key(self.service, raw_key))

    def preimage(self, preimage_hash: bytes) -> bytes | None:
        """a_p[h]."""
        return self.get(preimage_key(self.service, preimage_hash))

    def request(self, preimage_hash: bytes, length: int) -> tuple[int, ...] | None:
        """a_l[(h, z)], or None when there is no such request."""
        value = self.get(request_key(self.service, preimage_hash, length))
        return None if value is None else decode_timeslots(value)

    @property
    def code(self) -> bytes | None:
        """a_c (eq. 9.4): the code part c of the preimage E(↕m, c) of a_c, or None."""
        blob = self.preimage(self.info.code_hash)
        if blob is None:
            return None
        try:
            length, offset = decode_natural(blob)
        except ValueError:
            return None
        if offset + length > len(blob):
            return None
        return blob[offset + length :]

    @property
    def threshold(self) -> int:
        """a_t (eq. 9.8)."""
        info = self.info
        return threshold_balance(info.items, info.bytes, info.deposit_offset)

    # -- footprint-maintaining changes (eq. 9.8) ------------------------------------------

    def set_storage(self, raw_key: bytes, value: bytes | None) -> bytes | None:
        """a_s[k] = value (None removes it), keeping a_i and a_o; returns the old value."""
        key = storage_key(self.service, raw_key)
        old = self.get(key)
        items, octets = self.info.items, self.info.bytes
        if old is not None:
            items -= 1
            octets -= 34 + len(raw_key) + len(old)
        if value is not None:
            items += 1
            octets += 34 + len(raw_key) + len(value)
        self.changes[key] = value
        if items != self.info.items or octets != self.info.bytes:
            self.info = replace(self.info, items=items, bytes=octets)
        return old

    def set_request(
        self, preimage_hash: bytes, length: int, slots: tuple[int, ...] | None
    ) -> None:
        """a_l[(h, z)] = slots (None removes the request), keeping a_i and a_o."""
        key = request_key(self.service, preimage_hash, length)
        existed = self.get(key) is not None
        self.changes[key] = None if slots is None else encode_timeslots(slots)
        if existed and slots is None:
            self.info = replace(
                self.info, items=self.info.items - 2, bytes=self.info.bytes - 81 - length
            )
        elif not existed and slots is not None:
            self.info = replace(
                self.info, items=self.info.items + 2, bytes=self.info.bytes + 81 + length
            )

    def set_preimage(self, preimage_hash: bytes, blob: bytes | None) -> None:
        """a_p[h] = blob (None removes it); preimages are not in the footprint."""
        self.changes[preimage_key(self.service, preimage_hash)] = blob


class PartialState:
    """The partial state (d, i, q, m, a, v, r, z) of eq. 12.13, layered as described in
    the module docstring."""

    __slots__ = (
        "base",
        "inherited",
        "touched",
        "staging_set",
        "auth_queue",
        "manager",
        "assigners",
        "delegator",
        "registrar",
        "always_acc",
    )

    def __init__(
        self,
        base: Mapping[int, ServiceAccount],
        inherited: Mapping[int, AccountView | None],
        touched: dict[int, AccountView | None],
        staging_set: tuple[object, ...] | None,
        auth_queue: tuple[tuple[bytes, ...], ...] | None,
        manager: int,
        assigners: tuple[int, ...],
        delegator: int,
        registrar: int,
        always_acc: Mapping[int, int],
    ) -> None:
        self.base = base
        self.inherited = inherited
        self.touched = touched
        self.staging_set = staging_set
        self.auth_queue = auth_queue
        self.manager = manager
        self.assigners = assigners
        self.delegator = delegator
        self.registrar = registrar
        self.always_acc = always_acc

    def copy(self) -> PartialState:
        """An independent copy (the checkpoint y = x of Ω_C, and Δ*'s per-service state)."""
        return PartialState(
            self.base,
            self.inherited,
            {s: None if v is None else v.copy() for s, v in self.touched.items()},
            self.staging_set,
            self.auth_queue,
            self.manager,
            self.assigners,
            self.delegator,
            self.registrar,
            self.always_acc,
        )

    def child(self) -> PartialState:
        """A copy whose own changes start empty, layered over this state's changes (which
        must no longer be mutated): the per-service state of Δ*."""
        inherited = self.inherited
        if self.touched:
            inherited = {**inherited, **self.touched}
        return PartialState(
            self.base,
            inherited,
            {},
            self.staging_set,
            self.auth_queue,
            self.manager,
            self.assigners,
            self.delegator,
            self.registrar,
            self.always_acc,
        )

    # -- accounts ---------------------------------------------------------------------------

    def view(self, service: int) -> AccountView | None:
        """d[s] for reading only (None when s is not a service); never mutate the result."""
        found = self.touched.get(service, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        found = self.inherited.get(service, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        account = self.base.get(service)
        return None if account is None else AccountView.of(service, account)

    def account(self, service: int) -> AccountView | None:
        """d[s] for changing: this context's own view of the account."""
        found = self.touched.get(service, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        view = self.view(service)
        if view is None:
            return None
        if service in self.inherited:
            view = view.copy()
        self.touched[service] = view
        return view

    def exists(self, service: int) -> bool:
        """s ∈ K(d)."""
        if service in self.touched:
            return self.touched[service] is not None
        if service in self.inherited:
            return self.inherited[service] is not None
        return service in self.base

    def add(self, view: AccountView) -> None:
        """d ∪ {s -> a}."""
        self.touched[view.service] = view

    def remove(self, service: int) -> None:
        """d \\ {s}."""
        self.touched[service] = None

    def changed_accounts(self) -> dict[int, AccountView | None]:
        """Every account changed relative to `base`: inherited and own changes."""
        return {**self.inherited, **self.touched}

    def accounts(self) -> dict[int, ServiceAccount]:
        """d as state records."""
        result = dict(self.base)
        for service, view in self.changed_accounts().items():
            if view is None:
                result.pop(service, None)
            else:
                result[service] = view.freeze()
        return result
