"""A chain's first Safrole state: one validator set everywhere and fallback sealing.

A devnet or test chain starts at slot 0 with lambda = kappa = gamma_k = iota = its
validators, an empty ticket accumulator, gamma_z their ring commitment, and gamma_s the
fallback keys F(eta_2, kappa) (graypaper eq. 6.26), since no contest has run yet.
"""

from __future__ import annotations

from collections.abc import Sequence

from jamcore.crypto.bandersnatch import ring_commitment
from jamcore.crypto.srs import Srs
from jamcore.safrole.errors import MalformedKey, ensure
from jamcore.safrole.sequencing import fallback_keys
from jamcore.safrole.state import FallbackSeries, SafroleState, ValidatorKey, check_state
from jamcore.spec import ChainSpec


def genesis_state(
    validators: Sequence[ValidatorKey],
    entropy: Sequence[bytes],
    spec: ChainSpec,
    srs: Srs | None = None,
    slot: int = 0,
) -> SafroleState:
    """The Safrole state at `slot` of a chain whose validators are `validators` (V of them)
    and whose entropy history eta_0..eta_3 is `entropy`."""
    keys = tuple(validators)
    ensure(len(entropy) == 4, MalformedKey(f"genesis entropy needs 4 hashes, got {len(entropy)}"))
    state = SafroleState(
        slot=slot,
        entropy=(entropy[0], entropy[1], entropy[2], entropy[3]),
        previous_validators=keys,
        active_validators=keys,
        pending_validators=keys,
        staged_validators=keys,
        ticket_accumulator=(),
        sealing_keys=FallbackSeries(fallback_keys(entropy[2], keys, spec)),
        epoch_root=ring_commitment([key.bandersnatch for key in keys], srs),
    )
    check_state(state, spec)
    return state
