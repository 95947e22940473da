"""Hypothesis strategies that generate valid values for any codec built from jamcore.codec."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from jamcore.codec import (
    MAX_NATURAL,
    BitSequence,
    Blob,
    Boolean,
    Choice,
    Codec,
    Dictionary,
    FixedBytes,
    FixedInt,
    Lazy,
    Natural,
    Optional_,
    Sequence_,
    Struct,
    Variant,
)
from jamcore.work.package import ImportIndex

MAX_GENERATED_ITEMS = 3


def values_of(codec: Codec[Any]) -> st.SearchStrategy[Any]:
    """A strategy generating values that `codec` can encode."""
    if isinstance(codec, Lazy):
        return values_of(codec.codec)
    if isinstance(codec, ImportIndex):
        return st.integers(0, 2**15 - 1)
    if isinstance(codec, FixedInt):
        return st.integers(0, codec.limit - 1)
    if isinstance(codec, Natural):
        return st.integers(0, MAX_NATURAL)
    if isinstance(codec, Boolean):
        return st.booleans()
    if isinstance(codec, FixedBytes):
        return st.binary(min_size=codec.length, max_size=codec.length)
    if isinstance(codec, Blob):
        return st.binary(max_size=64)
    if isinstance(codec, BitSequence):
        size = codec.length
        if size is None:
            return st.lists(st.booleans(), max_size=40).map(tuple)
        return st.lists(st.booleans(), min_size=size, max_size=size).map(tuple)
    if isinstance(codec, Sequence_):
        if codec.length is not None:
            low = high = codec.length
        else:
            low = codec.min_length
            high = min(codec.max_length or MAX_GENERATED_ITEMS, max(low, MAX_GENERATED_ITEMS))
        return st.lists(values_of(codec.element), min_size=low, max_size=high).map(tuple)
    if isinstance(codec, Optional_):
        return st.none() | values_of(codec.element)
    if isinstance(codec, Dictionary):
        return st.dictionaries(
            values_of(codec.key), values_of(codec.value), max_size=MAX_GENERATED_ITEMS
        )
    if isinstance(codec, Choice):
        return st.one_of(
            [
                st.just(Variant(tag, None))
                if payload is None
                else values_of(payload).map(lambda v, tag=tag: Variant(tag, v))
                for tag, payload in codec.variants
            ]
        )
    if isinstance(codec, Struct):
        return st.builds(codec.cls, *[values_of(field) for _, field in codec.fields])
    raise TypeError(f"no strategy for {type(codec).__name__}")
