"""What a block changed in the serialized state: T(sigma') against T(sigma) (eq. D.2).

A node stores the state as keyvals and Merklizes it incrementally (`jamcore.state.trie`),
so after `import_block` it needs the changed keys only. The sixteen components are small
and compared by their encodings; a service's items are compared through
`jamcore.state.overlay.changes_from`, which costs what the block changed when the posterior
items overlay the prior ones (as accumulation and preimage integration leave them).
"""

from __future__ import annotations

from jamcore.spec import ChainSpec
from jamcore.state.keys import service_account_key
from jamcore.state.overlay import changes_from
from jamcore.state.serialize import encode_service_info
from jamcore.state.state import State, component_keyvals

StateChanges = dict[bytes, bytes | None]
"""State key -> new value, None for a removed key."""


def state_changes(prior: State, posterior: State, spec: ChainSpec) -> StateChanges:
    """The keyvals that turn T(prior) into T(posterior) (eq. D.2): changed or new keys with
    their values, removed keys with None."""
    before = component_keyvals(prior, spec)
    changes: StateChanges = {
        key: value
        for key, value in component_keyvals(posterior, spec).items()
        if before.get(key) != value
    }
    for service in prior.services.keys() | posterior.services.keys():
        old = prior.services.get(service)
        new = posterior.services.get(service)
        if old is new:
            continue
        account_key = service_account_key(service)
        if new is None:
            assert old is not None
            changes[account_key] = None
            changes.update(dict.fromkeys(old.entries))
            continue
        info = encode_service_info(new.info)
        if old is None or encode_service_info(old.info) != info:
            changes[account_key] = info
        changes.update(changes_from({} if old is None else old.entries, new.entries))
    return changes
