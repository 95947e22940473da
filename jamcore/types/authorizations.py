"""alpha and phi: the authorizer pools and queues of the cores (graypaper section 8.1,
eq. 8.1), with their codecs."""

from __future__ import annotations

from functools import cache

from jamcore.codec import HASH, Codec, seq
from jamcore.spec import ChainSpec

AuthPools = tuple[tuple[bytes, ...], ...]
"""alpha: per core, at most O authorizer hashes (eq. 8.1)."""

AuthQueues = tuple[tuple[bytes, ...], ...]
"""phi: per core, exactly Q queued authorizer hashes (eq. 8.1)."""


@cache
def auth_pools_codec(spec: ChainSpec) -> Codec[AuthPools]:
    """C(1): alpha as C pools of at most O hashes, each length-prefixed (eq. 8.1, D.2)."""
    return seq(seq(HASH, max_length=spec.auth_pool_size), spec.cores_count)


@cache
def auth_queues_codec(spec: ChainSpec) -> Codec[AuthQueues]:
    """C(2): phi as C queues of exactly Q hashes (eq. 8.1, D.2)."""
    return seq(seq(HASH, spec.auth_queue_size), spec.cores_count)
