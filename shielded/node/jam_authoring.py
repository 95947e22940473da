"""Authoring a block on jamcore's rules: the seal, and the extrinsic items valid for it.

A block author holds guarantees and assurances it received; the block may carry only those
the importer accepts (graypaper sections 11.2 and 11.4), so the author checks each with
the importer's own rules before sealing:

* assurances (eq. 11.10-11.15): anchored on the parent, one per validator in index order,
  bits only for cores engaged in rho, signed by the validator's kappa key;
* the cores they free: a report is removed from rho when more than two thirds assure it
  or when H_t >= its slot + U (eq. 11.16-11.17), giving rho-double-dagger;
* guarantees (eq. 11.23-11.42): one per free core in core order, credential and
  assignment for their slot t (R(floor(tau'/R) - 1) <= t <= tau'), signatures, the core's
  authorizer pool, the anchor among the recent blocks (with the parent's state root filled
  in, eq. 7.5), the lookup anchor within L slots, digests, and a package not already
  reported, accumulated, queued or pending.

`seal_block` then seals the header (eq. 6.15-6.17, 6.27-6.28): the slot's claim from the
prior Safrole state (a ticket or a fallback key), the entropy source Y(H_v), the epoch and
tickets markers of the Safrole transition, and the seal over E_U(H).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from jamcore.block import (
    Block,
    DisputesExtrinsic,
    Extrinsic,
    Header,
    Preimage,
    encode_unsigned_header,
    extrinsic_hash,
)
from jamcore.crypto import ed25519
from jamcore.crypto.bandersnatch import vrf_output
from jamcore.errors import JamError
from jamcore.safrole.authoring import claim_slot
from jamcore.safrole.errors import SafroleError
from jamcore.safrole.sealing import entropy_source_input, make_entropy_source, make_seal
from jamcore.safrole.state import SafroleInput, TicketEnvelope
from jamcore.safrole.transition import transition
from jamcore.spec import ChainSpec
from jamcore.state.state import State
from jamcore.stf.assurances import assurance_message, assured_cores
from jamcore.stf.block import known_packages, safrole_state
from jamcore.stf.history import with_parent_state_root
from jamcore.stf.reports.context import (
    blocks_by_hash,
    check_anchor,
    check_lookup_anchor,
    recently_reported,
)
from jamcore.stf.reports.credentials import check_credential, verify_signatures
from jamcore.stf.reports.validity import check_core, check_digests, check_report_form
from jamcore.types import Availability
from jamcore.work.guarantee import AvailAssurance, ReportGuarantee
from jamcore.work.guarantor import block_assignments

__all__ = [
    "after_assurances",
    "block_assurances",
    "block_guarantees",
    "candidate_bodies",
    "guarantee_expired",
    "seal_block",
    "twin_body",
]


def block_assurances(
    held: Iterable[AvailAssurance], head: State, parent: bytes, spec: ChainSpec
) -> tuple[AvailAssurance, ...]:
    """E_A for a block on `parent` (whose posterior state is `head`): of the held
    assurances, those the importer accepts (eq. 11.10-11.15), at most one per validator
    (the one with most bits), ordered by validator index (eq. 11.12)."""
    engaged = [pending is not None for pending in head.availability]
    keys = head.current_validators  # kappa of the prior state signs (eq. 11.13)
    chosen: dict[int, tuple[int, AvailAssurance]] = {}
    for assurance in held:
        index = assurance.validator_index
        if assurance.anchor != parent or index >= len(keys):
            continue  # anchored elsewhere (eq. 11.11) or no validator
        if len(assurance.bitfield) != spec.avail_bitfield_bytes:
            continue
        cores = assured_cores(assurance.bitfield, spec.cores_count)
        # Verify every bit is for an engaged core (eq. 11.15); an empty one helps nothing.
        if not cores or not all(core < len(engaged) and engaged[core] for core in cores):
            continue
        message = assurance_message(parent, assurance.bitfield)
        if not ed25519.verify(keys[index].ed25519, message, assurance.signature):
            continue
        if index not in chosen or len(cores) > chosen[index][0]:
            chosen[index] = (len(cores), assurance)
    return tuple(chosen[index][1] for index in sorted(chosen))


def after_assurances(
    head: State, assurances: Iterable[AvailAssurance], slot: int, spec: ChainSpec
) -> Availability:
    """rho-double-dagger (eq. 11.16-11.17) of a block at `slot` on `head` with the given
    (valid) assurances: a report leaves its core once more than two thirds of the
    validators assure it, or once slot >= its report slot + U."""
    counts = [0] * spec.cores_count
    for assurance in assurances:
        for core in assured_cores(assurance.bitfield, spec.cores_count):
            if core < spec.cores_count:
                counts[core] += 1
    return tuple(
        None
        if pending is None
        or counts[core] >= spec.validators_super_majority
        or slot >= pending.timeout + spec.assurance_timeout_period
        else pending
        for core, pending in enumerate(head.availability)
    )


def _package(guarantee: ReportGuarantee) -> bytes:
    return guarantee.report.package_spec.hash


def block_guarantees(
    held: Iterable[ReportGuarantee],
    head: State,
    parent_root: bytes,
    slot: int,
    availability: Availability,
    spec: ChainSpec,
) -> tuple[ReportGuarantee, ...]:
    """E_G for a block at `slot` on `head` (M_sigma(head) = `parent_root`) whose assurances
    leave rho-double-dagger = `availability`: per free core, the first held guarantee (by
    slot t, then package hash) that passes the importer's checks (eq. 11.23-11.42), in
    core order (eq. 11.24)."""
    assignments = block_assignments(head, slot, spec)
    # beta-dagger: the parent's entry with its state root filled in (eq. 7.5).
    recent = replace(
        head.recent_blocks,
        history=with_parent_state_root(head.recent_blocks.history, parent_root),
    )
    blocks = blocks_by_hash(recent)
    known = set(known_packages(head, availability)) | set(recently_reported(recent))
    accounts = {service: account.info for service, account in head.services.items()}
    chosen: dict[int, ReportGuarantee] = {}
    for guarantee in sorted(held, key=lambda g: (g.report.core_index, g.slot, _package(g))):
        report = guarantee.report
        core = report.core_index
        if core in chosen or not 0 <= core < spec.cores_count or _package(guarantee) in known:
            continue
        try:
            check_report_form(report, spec)
            checks = check_credential(guarantee, assignments, slot, spec)
            check_core(report, availability, head.auth_pools)
            check_anchor(report.context, blocks)
            check_lookup_anchor(report.context, slot, spec)
            check_digests(report, accounts)
            verify_signatures(checks)
        except JamError:
            continue
        chosen[core] = guarantee
    return tuple(chosen[core] for core in sorted(chosen))


def candidate_bodies(
    preimages: tuple[Preimage, ...],
    guarantees: tuple[ReportGuarantee, ...],
    assurances: tuple[AvailAssurance, ...],
    disputes: DisputesExtrinsic,
    tickets: tuple[TicketEnvelope, ...] = (),
) -> list[Extrinsic]:
    """The extrinsics an author tries, richest first, each distinct one once: E_T, E_P, E_G
    and E_A; then without E_T; without E_P; without E_G; empty (should the importer refuse
    one)."""
    bodies: list[Extrinsic] = []
    for body in (
        Extrinsic(tickets, preimages, guarantees, assurances, disputes),
        Extrinsic((), preimages, guarantees, assurances, disputes),
        Extrinsic((), (), guarantees, assurances, disputes),
        Extrinsic((), (), (), assurances, disputes),
        Extrinsic((), (), (), (), disputes),
    ):
        if body not in bodies:
            bodies.append(body)
    return bodies


def twin_body(body: Extrinsic, own_empty_assurance: AvailAssurance) -> Extrinsic:
    """Another valid extrinsic for the same parent (fault injection: an equivocating
    author's second block): empty if `body` carries anything, else only the author's
    assurance anchored on the parent with no bit set (valid: eq. 11.15 constrains set bits
    only), so neither frees a core nor needs a guarantee the other holds."""
    empty = Extrinsic((), (), (), (), body.disputes)
    if body != empty:
        return empty
    return Extrinsic((), (), (), (own_empty_assurance,), body.disputes)


def guarantee_expired(guarantee: ReportGuarantee, head: State, spec: ChainSpec) -> bool:
    """Whether no block after `head` can carry `guarantee` any more: its slot t is before
    the previous rotation of the next slot (eq. 11.26), its anchor left the recent history
    (eq. 11.33), or its package is already reported, pending, queued or accumulated
    (eq. 11.40)."""
    next_slot = head.slot + 1
    rotation = spec.rotation_period
    if guarantee.slot < rotation * (next_slot // rotation - 1):
        return True
    history = head.recent_blocks.history
    if guarantee.report.context.anchor not in {entry.header_hash for entry in history}:
        return True
    known = set(known_packages(head, head.availability)) | set(
        recently_reported(head.recent_blocks)
    )
    return _package(guarantee) in known


def seal_block(
    state: State,
    parent: bytes,
    parent_root: bytes,
    slot: int,
    bandersnatch_secret: bytes,
    body: Extrinsic,
    spec: ChainSpec,
) -> Block | None:
    """The block of `slot` on `parent` (posterior state `state`, M_sigma = `parent_root`)
    with extrinsic `body`, sealed by the holder of `bandersnatch_secret` if it may seal
    the slot (eq. 6.15-6.16), else None."""
    prior = safrole_state(state)
    try:
        claim = claim_slot(prior, slot, bandersnatch_secret, spec)
    except SafroleError:
        return None
    secret = bandersnatch_secret
    # Y(H_v): the entropy the importer feeds Safrole (eq. 6.17, 6.22).
    entropy = vrf_output(secret, entropy_source_input(vrf_output(secret, claim.sealer.seal_input)))
    _, markers = transition(
        prior, SafroleInput(slot, entropy, body.tickets), state.disputes.offenders, spec
    )
    header = Header(
        parent=parent,
        parent_state_root=parent_root,
        extrinsic_hash=extrinsic_hash(body, spec),
        slot=slot,
        epoch_mark=markers.epoch_mark,
        tickets_mark=markers.tickets_mark,
        author_index=claim.author_index,
        entropy_source=make_entropy_source(secret, claim.sealer),
        offenders_mark=(),
        seal=bytes(96),
    )
    seal = make_seal(secret, claim.sealer, encode_unsigned_header(header, spec))
    return Block(replace(header, seal=seal), body)
