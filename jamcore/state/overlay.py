"""Service item maps that share their unchanged items with the prior state.

A block changes a handful of a service's items (eq. 9.3's storage, preimages and requests)
while the account may hold millions. `OverlayEntries` is the posterior item map as the
prior one plus the block's changes, so accumulation (eq. 12.x, `AccountView.freeze`) and
the preimage integration (eq. 12.35-12.38) never copy the items they did not touch, and
`changes_from` recovers exactly what the block changed for a store or an incremental
Merklization (Appendix D) to apply.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

_MISSING = object()
COMPACT_RATIO = 2
"""An overlay whose changes reach 1/COMPACT_RATIO of its base's size is materialized (a
plain dict), so chains of overlays never make lookups slow."""


class OverlayEntries(Mapping[bytes, bytes]):
    """`base` with `delta` applied (a None value removes the key); immutable."""

    __slots__ = ("base", "delta", "_length")

    def __init__(self, base: Mapping[bytes, bytes], delta: Mapping[bytes, bytes | None]) -> None:
        self.base = base
        self.delta = dict(delta)
        length = len(base)
        for key, value in self.delta.items():
            present = key in base
            if value is None and present:
                length -= 1
            elif value is not None and not present:
                length += 1
        self._length = length

    def __getitem__(self, key: bytes) -> bytes:
        value = self.delta.get(key, _MISSING)
        if value is _MISSING:
            return self.base[key]
        if value is None:
            raise KeyError(key)
        return value  # type: ignore[return-value]

    def __contains__(self, key: object) -> bool:
        value = self.delta.get(key, _MISSING)  # type: ignore[call-overload]
        if value is _MISSING:
            return key in self.base
        return value is not None

    def __iter__(self) -> Iterator[bytes]:
        delta = self.delta
        for key in self.base:
            if key not in delta:
                yield key
        for key, value in delta.items():
            if value is not None:
                yield key

    def __len__(self) -> int:
        return self._length

    def __repr__(self) -> str:
        return f"OverlayEntries({len(self)} items, {len(self.delta)} changed)"


def with_changes(
    base: Mapping[bytes, bytes], changes: Mapping[bytes, bytes | None]
) -> Mapping[bytes, bytes]:
    """The item map `base` with `changes` applied, sharing `base`'s items.

    Stacked overlays are merged into one level over the innermost base, and a merged
    overlay that has grown to a large share of its base is materialized."""
    if not changes:
        return base
    if isinstance(base, OverlayEntries):
        merged = {**base.delta, **changes}
        root = base.base
        if len(merged) * COMPACT_RATIO >= len(root):
            return dict(OverlayEntries(root, merged))
        return OverlayEntries(root, merged)
    if len(changes) * COMPACT_RATIO >= len(base):
        return dict(OverlayEntries(base, changes))
    return OverlayEntries(base, changes)


def changes_from(
    prior: Mapping[bytes, bytes], posterior: Mapping[bytes, bytes]
) -> dict[bytes, bytes | None]:
    """The changes that turn `prior` into `posterior` (key -> new value, None: removed).

    O(changes) when `posterior` is an overlay of `prior` (the usual case after a block);
    otherwise a full comparison."""
    if posterior is prior:
        return {}
    if isinstance(posterior, OverlayEntries) and posterior.base is prior:
        return {key: value for key, value in posterior.delta.items() if prior.get(key) != value}
    if isinstance(posterior, OverlayEntries) and isinstance(prior, OverlayEntries):
        if posterior.base is prior.base:
            keys = posterior.delta.keys() | prior.delta.keys()
            return {key: posterior.get(key) for key in keys if posterior.get(key) != prior.get(key)}
    changes: dict[bytes, bytes | None] = {
        key: value for key, value in posterior.items() if prior.get(key) != value
    }
    for key in prior:
        if key not in posterior:
            changes[key] = None
    return changes
