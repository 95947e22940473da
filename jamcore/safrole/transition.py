"""The Safrole state transition (graypaper section 6), as the w3f `stf/safrole` vectors test it.

`transition(state, block, offenders, spec)` takes the prior state, a block's slot, Y(H_v)
and tickets extrinsic, and the posterior offenders psi'_o; it returns the posterior state and
the markers the header must carry, or raises a SafroleError and changes nothing.
"""

from __future__ import annotations

from collections.abc import Collection

from jamcore.crypto.bandersnatch import Ring
from jamcore.crypto.srs import Srs
from jamcore.safrole.epochs import epoch_and_phase, rotated_entropy, rotated_validators
from jamcore.safrole.errors import BadSlot, MalformedKey, ensure
from jamcore.safrole.marks import epoch_mark, tickets_mark
from jamcore.safrole.sequencing import posterior_sealing_keys
from jamcore.safrole.state import (
    SafroleInput,
    SafroleOutput,
    SafroleState,
    ValidatorKey,
    check_state,
)
from jamcore.safrole.tickets import check_ticket_count, merge_tickets, verify_tickets
from jamcore.spec import ChainSpec


def pending_ring(pending: tuple[ValidatorKey, ...], srs: Srs | None = None) -> Ring:
    """The ring of gamma'_k's Bandersnatch keys; its commitment is gamma'_z (eq. 6.13)."""
    return Ring.of([key.bandersnatch for key in pending], srs)


def transition(
    state: SafroleState,
    block: SafroleInput,
    offenders: Collection[bytes],
    spec: ChainSpec,
    srs: Srs | None = None,
) -> tuple[SafroleState, SafroleOutput]:
    """(state', markers) after the block, or a SafroleError (graypaper eq. 6.1-6.35)."""
    check_state(state, spec)
    ensure(len(block.entropy) == 32, MalformedKey("Y(H_v) must be 32 bytes"))

    # Verify the slot strictly advances (eq. 6.1; 5.7).
    ensure(
        block.slot > state.slot,
        BadSlot(f"block slot {block.slot} does not come after the prior slot {state.slot}"),
    )
    epoch, _ = epoch_and_phase(state.slot, spec)
    new_epoch_index, phase = epoch_and_phase(block.slot, spec)
    new_epoch = new_epoch_index > epoch

    # Verify the extrinsic's size before any proof (eq. 6.30).
    check_ticket_count(block.tickets, phase, spec)

    # Rotate keys and the epoch root on a new epoch (eq. 6.13-6.14).
    pending, active, previous = rotated_validators(state, new_epoch, offenders)
    ring = pending_ring(pending, srs) if new_epoch or block.tickets else None
    epoch_root = ring.commitment if new_epoch and ring is not None else state.epoch_root

    # Accumulate and rotate entropy (eq. 6.22-6.23).
    entropy = rotated_entropy(state.entropy, new_epoch, block.entropy)

    # Verify the tickets against gamma'_z and eta'_2 and merge them (eq. 6.29-6.35).
    accumulator = () if new_epoch else state.ticket_accumulator
    if block.tickets:
        assert ring is not None
        new_tickets = verify_tickets(block.tickets, ring, epoch_root, entropy[2], spec)
        accumulator = merge_tickets(accumulator, new_tickets, spec)

    posterior = SafroleState(
        slot=block.slot,
        entropy=entropy,
        previous_validators=previous,
        active_validators=active,
        pending_validators=pending,
        staged_validators=state.staged_validators,
        ticket_accumulator=accumulator,
        sealing_keys=posterior_sealing_keys(state, block.slot, spec),
        epoch_root=epoch_root,
    )
    markers = SafroleOutput(
        epoch_mark=epoch_mark(state, block.slot, pending, spec),
        tickets_mark=tickets_mark(state, block.slot, spec),
    )
    return posterior, markers
