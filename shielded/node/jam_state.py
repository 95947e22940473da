"""The graypaper state sigma read from the node's chain store, items loaded on demand.

jamcore's transition works on a `State` record (eq. 4.4). The node keeps T(sigma), the
serialized state (eq. D.2), in its `ChainStore`; `load_state` decodes the sixteen
components and the service account records from it, and gives each service an item map
(`StoredItems`) that reads the store only for the items the block touches. Accumulation
and preimage integration overlay their changes on those maps (`jamcore.state.overlay`),
so `jamcore.state.delta.state_changes` of the block costs what the block changed, and the
store applies exactly that. A `State` loaded here is valid while the store's head is the
one it was loaded at: load it again after the head moves.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace

from jamcore.spec import ChainSpec
from jamcore.state.keys import component_key
from jamcore.state.state import State, state_from_keyvals
from jamcore.types.services import ServiceAccount
from shielded.node.storage import ChainStore, data_service

COMPONENTS = range(1, 17)
"""C(1)..C(16): the state components of eq. D.2."""


class StoredItems(Mapping[bytes, bytes]):
    """The data items C(s, h) of one service at the store's head (eq. D.1-D.2)."""

    __slots__ = ("store", "service")

    def __init__(self, store: ChainStore, service: int) -> None:
        self.store = store
        self.service = service

    def __getitem__(self, key: bytes) -> bytes:
        if data_service(key) != self.service:
            raise KeyError(key)
        value = self.store.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, bytes):
            return False
        try:
            self[key]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[bytes]:
        for key, _ in self.store.service_items(self.service):
            yield key

    def __len__(self) -> int:
        return self.store.service_item_count(self.service)

    def __repr__(self) -> str:
        return f"StoredItems(service {self.service})"


def _account_keyvals(store: ChainStore) -> dict[bytes, bytes]:
    """The account records C(255, s) at the head."""
    return {
        key: value
        for key, value in store.items(b"\xff")
        if data_service(key) is None and key[1:] != bytes(len(key) - 1)
    }


def load_state(store: ChainStore, spec: ChainSpec) -> State:
    """sigma at the store's head: components and account records decoded, every service's
    items read lazily from the store. MalformedState if the store holds no graypaper state."""
    keyvals: dict[bytes, bytes] = {}
    for index in COMPONENTS:
        value = store.get(component_key(index))
        if value is not None:
            keyvals[component_key(index)] = value
    keyvals.update(_account_keyvals(store))
    state = state_from_keyvals(keyvals, spec)
    services = {
        service: ServiceAccount(account.info, StoredItems(store, service))
        for service, account in state.services.items()
    }
    return replace(state, services=services)
