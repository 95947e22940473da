"""Authorization: the per-core authorizer pools and queues (graypaper v0.7.2 section 8).

Each block, on every core, the authorizer used by the core's guaranteed report (if any) is
removed from the pool, the queue's item for the block's slot is appended, and the pool is
cut to its last O items (eq. 8.2, 8.3). The w3f vectors give the guarantees extrinsic as
`auths`: one (core, authorizer hash) pair per guaranteed report.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from jamcore.codec import HASH, U16, U32, Struct, seq
from jamcore.errors import JamError, ensure
from jamcore.spec import ChainSpec
from jamcore.types.authorizations import (
    AuthPools,
    AuthQueues,
    auth_pools_codec,
    auth_queues_codec,
)


class AuthorizationError(JamError):
    """An authorizations input that does not fit the chain spec."""

    code = "bad_core_index"


@dataclass(frozen=True)
class CoreAuthorizer:
    """The core and authorizer hash of one guaranteed report, (g_w)_c and (g_w)_a."""

    core: int
    auth_hash: bytes


@dataclass(frozen=True)
class AuthorizationsState:
    """alpha, the authorizer pools, and phi, the authorizer queues (eq. 8.1)."""

    auth_pools: AuthPools
    auth_queues: AuthQueues


@dataclass(frozen=True)
class AuthorizationsInput:
    """H_t and the authorizers the guarantees extrinsic E_G used."""

    slot: int
    auths: tuple[CoreAuthorizer, ...]


CORE_AUTHORIZER = Struct(CoreAuthorizer, {"core": U16, "auth_hash": HASH})


@cache
def authorizations_state_codec(spec: ChainSpec) -> Struct[AuthorizationsState]:
    """The w3f `stf/authorizations` state: auth_pools then auth_queues."""
    return Struct(
        AuthorizationsState,
        {"auth_pools": auth_pools_codec(spec), "auth_queues": auth_queues_codec(spec)},
    )


AUTHORIZATIONS_INPUT = Struct(AuthorizationsInput, {"slot": U32, "auths": seq(CORE_AUTHORIZER)})
"""The w3f `stf/authorizations` input: slot and the core authorizers."""


def used_authorizers(auths: tuple[CoreAuthorizer, ...], cores_count: int) -> list[list[bytes]]:
    """The authorizer hashes each core's guaranteed reports used (the cases of F, eq. 8.3)."""
    used: list[list[bytes]] = [[] for _ in range(cores_count)]
    for auth in auths:
        # Verify the report's core exists.
        ensure(
            0 <= auth.core < cores_count,
            AuthorizationError(f"core {auth.core}: expected an index below {cores_count}"),
        )
        used[auth.core].append(auth.auth_hash)
    return used


def transition(
    pre: AuthorizationsState, inputs: AuthorizationsInput, spec: ChainSpec
) -> tuple[AuthorizationsState, None]:
    """alpha' (eq. 8.2, 8.3): for each core c, F(c) removes the left-most pool entry equal
    to the authorizer of the guaranteed report on c, then the queue item
    phi'[c][H_t mod Q] is appended and only the last O items are kept.

    The queue is phi' (after accumulation); in this section's vectors it is unchanged.
    """
    used = used_authorizers(inputs.auths, spec.cores_count)
    pools: list[tuple[bytes, ...]] = []
    for core, (pool, queue) in enumerate(zip(pre.auth_pools, pre.auth_queues, strict=True)):
        remaining = list(pool)
        for auth_hash in used[core]:
            # s minus {v}: drop only the left-most equal entry, if there is one.
            if auth_hash in remaining:
                remaining.remove(auth_hash)
        remaining.append(queue[inputs.slot % spec.auth_queue_size])
        pools.append(tuple(remaining[-spec.auth_pool_size :]))
    return AuthorizationsState(tuple(pools), pre.auth_queues), None
