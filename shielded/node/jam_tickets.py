"""A validator's Safrole tickets on the devnet: made once per epoch, gossiped, put in blocks.

Graypaper 6.7: during the first Y slots of an epoch (the contest) each validator of gamma'_k
makes its N tickets, ring VRF proofs on X_T ++ eta'_2 ++ attempt anonymous within the
pending validators' ring (eq. 6.29); authors put the best ones in E_T (eq. 6.30-6.35) and
at the epoch change the accumulator becomes the next epoch's ticket series (eq. 6.24),
so from then on a slot is sealed by the holder of its ticket instead of a fallback key.

`TicketPool` holds the tickets heard of for the contest under way: this validator's own
(`work`, jamcore's `produce_tickets`, then `add`) and the peers' (`receive`, each ring proof
verified against the pending ring and eta'_2 its block would see before it is kept; a
peer's bad ticket is refused, never raised). `for_block` picks a block's E_T
(`select_tickets`). The graypaper leaves when to make tickets to implementations: ring
proofs take about 0.2 s each here, so validators take turns over TICKET_TURNS slots from
the contest's third slot (`due`), and the process makes them off its event loop.
"""

from __future__ import annotations

from collections.abc import Callable

from jamcore.crypto.bandersnatch import BandersnatchError
from jamcore.safrole.authoring import ProducedTicket, produce_tickets, select_tickets
from jamcore.safrole.epochs import (
    epoch_and_phase,
    is_new_epoch,
    posterior_history,
    rotated_validators,
)
from jamcore.safrole.errors import SafroleError
from jamcore.safrole.state import TicketBody, TicketEnvelope
from jamcore.safrole.tickets import ticket_vrf_input
from jamcore.safrole.transition import pending_ring
from jamcore.spec import ChainSpec
from jamcore.state.state import State
from jamcore.stf.block import safrole_state

Produced = tuple[ProducedTicket, ...]

TICKET_FIRST_PHASE = 2
"""The contest's slot from which validators make their tickets."""
TICKET_TURNS = 6
"""Validators make their tickets in turns over this many slots (index mod turns)."""


class TicketPool:
    """The tickets known for the current epoch's contest, by ticket id (module docstring)."""

    def __init__(self, spec: ChainSpec) -> None:
        self.spec = spec
        self.by_epoch: dict[int, dict[bytes, ProducedTicket]] = {}
        self.produced_epoch = -1
        """The latest epoch whose tickets this validator made (or tried to)."""

    def due(self, slot: int, index: int) -> bool:
        """Whether validator `index` should make its tickets at `slot`: its turn in the
        contest of `slot`'s epoch has come and it has not made them yet."""
        epoch, phase = epoch_and_phase(slot, self.spec)
        contest = self.spec.contest_duration
        if epoch <= self.produced_epoch or phase >= contest:
            return False
        turns = max(1, min(TICKET_TURNS, contest - TICKET_FIRST_PHASE - 2))
        return phase >= TICKET_FIRST_PHASE + index % turns

    def work(self, head: State, slot: int, secret: bytes) -> Callable[[], Produced]:
        """The making of this validator's tickets for a block at `slot` on `head`
        (eq. 6.29) as a call that reads nothing of `head` any more (the Safrole components
        are taken now), so it can run on another thread: slow, ring proofs. It returns no
        tickets when this validator is not in gamma'_k or the proofs fail; `add` pools them.
        """
        epoch, _ = epoch_and_phase(slot, self.spec)
        self.produced_epoch = max(self.produced_epoch, epoch)
        slot = max(slot, head.slot + 1)  # for the next block on `head`
        state = safrole_state(head)
        offenders = tuple(head.disputes.offenders)
        spec = self.spec

        def make() -> Produced:
            try:
                return produce_tickets(state, slot, secret, spec, offenders)
            except (SafroleError, BandersnatchError):
                return ()

        return make

    def add(self, slot: int, tickets: Produced) -> None:
        """Pool tickets made for the contest of `slot`'s epoch."""
        epoch, _ = epoch_and_phase(slot, self.spec)
        pool = self.by_epoch.setdefault(epoch, {})
        for ticket in tickets:
            pool[ticket.body.id] = ticket

    def receive(self, envelope: TicketEnvelope, head: State, slot: int) -> bool:
        """Pool a peer's ticket for the contest of `slot`'s epoch if its ring proof verifies
        against the pending ring and eta'_2 a block at `slot` on `head` sees (eq. 6.29)."""
        if envelope.attempt >= self.spec.tickets_per_validator:
            return False
        slot = max(slot, head.slot + 1)
        epoch, phase = epoch_and_phase(slot, self.spec)
        if phase >= self.spec.contest_duration:
            return False
        state = safrole_state(head)
        new_epoch = is_new_epoch(state.slot, slot, self.spec)
        pending, _, _ = rotated_validators(state, new_epoch, head.disputes.offenders)
        _, entropy2, _ = posterior_history(state.entropy, new_epoch)
        try:
            ticket_id = pending_ring(pending).verify(
                ticket_vrf_input(entropy2, envelope.attempt), b"", envelope.signature
            )
        except (BandersnatchError, SafroleError, ValueError):
            return False
        pool = self.by_epoch.setdefault(epoch, {})
        pool[ticket_id] = ProducedTicket(TicketBody(ticket_id, envelope.attempt), envelope)
        return True

    def for_block(self, head: State, slot: int) -> tuple[TicketEnvelope, ...]:
        """E_T for a block at `slot` on `head`: the pooled tickets not yet in gamma_a that
        would be kept, ascending by id, at most K (eq. 6.30-6.35); none after the contest."""
        epoch, phase = epoch_and_phase(slot, self.spec)
        self.by_epoch = {e: p for e, p in self.by_epoch.items() if e >= epoch}
        pool = self.by_epoch.get(epoch)
        if phase >= self.spec.contest_duration or not pool:
            return ()
        accumulator = head.gamma_a
        if is_new_epoch(head.slot, slot, self.spec):
            accumulator = ()
        return select_tickets(list(pool.values()), accumulator, self.spec)

    def forget(self) -> None:
        """Drop every pooled ticket (one went stale: a block with them was refused)."""
        self.by_epoch.clear()
