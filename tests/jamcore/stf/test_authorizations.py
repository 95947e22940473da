"""The authorizations STF (section 8) against the w3f `stf/authorizations` vectors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jamcore.spec import TINY
from jamcore.stf.authorizations import (
    AUTHORIZATIONS_INPUT,
    AuthorizationError,
    AuthorizationsInput,
    AuthorizationsState,
    CoreAuthorizer,
    authorizations_state_codec,
    transition,
)
from tests.jamcore.stf.checks import check_binary_twin, check_vector, spec_of
from tests.vectors import vector_params


@pytest.mark.parametrize("path", vector_params("stf/authorizations"))
def test_vector(path: Path) -> None:
    spec = spec_of(path)
    check_vector(path, authorizations_state_codec(spec), AUTHORIZATIONS_INPUT, None, transition)


@pytest.mark.parametrize("path", vector_params("stf/authorizations"))
def test_binary_matches_json(path: Path) -> None:
    check_binary_twin(path, authorizations_state_codec(spec_of(path)), AUTHORIZATIONS_INPUT)


def hashes(count: int, tag: int) -> tuple[bytes, ...]:
    return tuple(bytes([tag, i]) + bytes(30) for i in range(count))


@given(
    pool_size=st.integers(0, TINY.auth_pool_size),
    slot=st.integers(0, 2**32 - 1),
    used=st.one_of(st.none(), st.integers(0, TINY.auth_pool_size - 1)),
)
def test_pool_properties(pool_size: int, slot: int, used: int | None) -> None:
    """The pool never exceeds O, ends with the slot's queue item and loses the used hash."""
    pools = (hashes(pool_size, 1), hashes(pool_size, 2))
    queues = (hashes(TINY.auth_queue_size, 3), hashes(TINY.auth_queue_size, 4))
    auths = ()
    if used is not None and used < pool_size:
        auths = (CoreAuthorizer(0, pools[0][used]),)
    post, _ = transition(AuthorizationsState(pools, queues), AuthorizationsInput(slot, auths), TINY)
    for core in range(2):
        assert len(post.auth_pools[core]) <= TINY.auth_pool_size
        assert post.auth_pools[core][-1] == queues[core][slot % TINY.auth_queue_size]
    if auths:
        assert post.auth_pools[0].count(auths[0].auth_hash) == 0
        assert len(post.auth_pools[0]) == pool_size
    else:
        assert len(post.auth_pools[0]) == min(pool_size + 1, TINY.auth_pool_size)


def test_bad_core() -> None:
    pools = (hashes(1, 1), hashes(1, 2))
    queues = (hashes(TINY.auth_queue_size, 3), hashes(TINY.auth_queue_size, 4))
    with pytest.raises(AuthorizationError):
        transition(
            AuthorizationsState(pools, queues),
            AuthorizationsInput(0, (CoreAuthorizer(2, pools[0][0]),)),
            TINY,
        )
