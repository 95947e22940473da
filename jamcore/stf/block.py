"""Block import: the state-transition function Upsilon(sigma, B) = sigma' (graypaper eq. 4.1),
each section's transition run in the order of the dependency graph of eq. 4.5-4.20.

`import_block` is a list of one-rule calls, as consensus-specs' `process_block` is: the
header checks (section 5), disputes (10), Safrole (6) with the seal (6.4) and markers, the
parent-root fix of the recent history (7), assurances (11.2), guarantees (11.4),
accumulation (12), the recent history's new entry (7), preimages (12.4), authorizations (8)
and statistics (13). Any rule a block breaks raises a `JamError` naming it; nothing is
mutated, so the prior state is what the caller still holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from jamcore.block import Block, block_codecs
from jamcore.crypto.hashing import blake2b_256
from jamcore.pvm.invocations.native import NativeService
from jamcore.safrole import transition as safrole
from jamcore.safrole.state import SafroleInput, SafroleState
from jamcore.spec import ChainSpec
from jamcore.state.merklization import state_root
from jamcore.state.state import State, state_to_keyvals
from jamcore.stf import assurances, authorizations, disputes, header, history, preimages, reports
from jamcore.stf.accumulate import AccumulateInput, AccumulateState, accumulate_block
from jamcore.stf.authorizations import CoreAuthorizer
from jamcore.stf.reports.context import Ancestry, check_lookup_anchor_ancestry
from jamcore.stf.statistics import block_statistics
from jamcore.types import AccumulationOutput, Availability, CoreActivityRecord, ReportedWorkPackage


def safrole_state(state: State) -> SafroleState:
    """The components of sigma Safrole reads (eq. 6.3-6.8): tau, eta, lambda, kappa, gamma, iota."""
    return SafroleState(
        slot=state.slot,
        entropy=state.entropy,
        previous_validators=state.previous_validators,
        active_validators=state.current_validators,
        pending_validators=state.gamma_k,
        staged_validators=state.next_validators,
        ticket_accumulator=state.gamma_a,
        sealing_keys=state.gamma_s,
        epoch_root=state.gamma_z,
    )


def known_packages(state: State, availability: Availability) -> tuple[bytes, ...]:
    """The packages a new report must not repeat besides the recent history's (eq. 11.40):
    those accumulated in the last epoch (xi), waiting in the ready queue (omega) and pending
    availability on a core (rho-double-dagger)."""
    known = {package for slot in state.accumulated for package in slot}
    known.update(
        record.report.package_spec.hash for slot in state.ready_queue for record in slot
    )
    known.update(
        assignment.report.package_spec.hash
        for assignment in availability
        if assignment is not None
    )
    return tuple(sorted(known))


def root_of(state: State, spec: ChainSpec) -> bytes:
    """M_sigma(sigma): the Merkle root of the serialized state (eq. D.3)."""
    return state_root(state_to_keyvals(state, spec))


def import_block(
    state: State,
    block: Block,
    spec: ChainSpec,
    *,
    prior_state_root: bytes | None = None,
    now: int | None = None,
    ancestry: Ancestry | None = None,
    natives: Mapping[bytes, NativeService] | None = None,
) -> State:
    """sigma' = Upsilon(sigma, B) (eq. 4.1, 4.5-4.20), or a JamError with sigma untouched.

    `prior_state_root` is M_sigma(sigma) when the caller knows it (it is computed otherwise);
    `now` is the wall-clock slot, checked against H_t only when given (eq. 5.7); `ancestry`
    is A, the chain's headers, against which lookup anchors are checked when given
    (eq. 11.35). `natives` maps code hashes to native service implementations that
    accumulation runs in place of their PVM code, through the same host calls and gas
    (`jamcore.pvm.invocations.native`): an implementation choice for services too heavy
    for the interpreter, with the graypaper's state semantics; none by default."""
    head, extrinsic = block.header, block.extrinsic
    if prior_state_root is None:
        prior_state_root = root_of(state, spec)
    encoded_header = block_codecs(spec).header.encode(head)
    header_hash = blake2b_256(encoded_header)
    history_entries = state.recent_blocks.history
    parent_hash = history_entries[-1].header_hash if history_entries else head.parent

    # Verify the header against the prior state: parent, parent state root, slot, extrinsic
    # hash, author, seal and entropy source (eq. 5.2-5.9, 6.15-6.17).
    prior_safrole = safrole_state(state)
    seal = header.verify_header(
        head, extrinsic, parent_hash, prior_state_root, prior_safrole, spec, now, encoded_header
    )

    # psi', rho-dagger (eq. 10.1-10.20).
    judged, judged_output = disputes.transition(
        disputes.DisputesState(
            psi=state.disputes,
            rho=state.availability,
            tau=state.slot,
            kappa=state.current_validators,
            lambda_=state.previous_validators,
        ),
        disputes.DisputesInput(extrinsic.disputes),
        spec,
    )

    # gamma', eta', kappa', lambda' (eq. 6.1-6.35), then the header's markers.
    posterior_safrole, markers = safrole.transition(
        prior_safrole,
        SafroleInput(slot=head.slot, entropy=seal.entropy, tickets=extrinsic.tickets),
        judged.psi.offenders,
        spec,
    )
    header.verify_marks(
        head,
        header.HeaderMarks(markers.epoch_mark, markers.tickets_mark, judged_output.offenders_mark),
    )

    # beta-dagger: the parent's state root filled in (eq. 7.5).
    recent_dagger = replace(
        state.recent_blocks,
        history=history.with_parent_state_root(history_entries, head.parent_state_root),
    )

    # rho-double-dagger and W, the reports that became available (eq. 11.10-11.17).
    assured, available = assurances.transition(
        assurances.AssurancesState(
            avail_assignments=judged.rho,
            # Assurances are signed with the prior state's active keys kappa (eq. 11.13).
            curr_validators=state.current_validators,
        ),
        assurances.AssurancesInput(
            assurances=extrinsic.assurances, slot=head.slot, parent=head.parent
        ),
        spec,
    )

    # rho' and the reporters G of the incoming reports I (eq. 11.18-11.42).
    guaranteed, reported = reports.transition(
        reports.ReportsState(
            avail_assignments=assured.avail_assignments,
            curr_validators=posterior_safrole.active_validators,
            prev_validators=posterior_safrole.previous_validators,
            entropy=posterior_safrole.entropy,
            offenders=judged.psi.offenders,
            recent_blocks=recent_dagger,
            auth_pools=state.auth_pools,
            accounts={service: account.info for service, account in state.services.items()},
            # pi' is rebuilt by the statistics section below (eq. 13.8-13.16).
            cores_statistics=(CoreActivityRecord.zero(),) * spec.cores_count,
            services_statistics={},
        ),
        reports.ReportsInput(
            guarantees=extrinsic.guarantees,
            slot=head.slot,
            known_packages=known_packages(state, assured.avail_assignments),
        ),
        spec,
    )
    incoming = tuple(guarantee.report for guarantee in extrinsic.guarantees)
    if ancestry is not None:
        for report in incoming:
            check_lookup_anchor_ancestry(report.context, ancestry)

    # Verify E_P against the prior accounts (eq. 12.36-12.37).
    preimages.check_preimages(state.services, extrinsic.preimages)

    # omega', xi', delta-double-dagger, chi', iota', phi', theta' and S (eq. 12.1-12.34).
    accumulated, summary = accumulate_block(
        AccumulateState(
            slot=state.slot,
            entropy=posterior_safrole.entropy[0],
            ready_queue=state.ready_queue,
            accumulated=state.accumulated,
            privileges=state.privileges,
            statistics={},
            accounts=state.services,
            staging_set=state.next_validators,
            auth_queue=state.auth_queues,
        ),
        AccumulateInput(slot=head.slot, reports=available.reported),
        spec,
        natives=natives,
    )

    # beta' (eq. 7.6-7.8).
    new_history, _ = history.transition(
        history.HistoryState(state.recent_blocks),
        history.HistoryInput(
            header_hash=header_hash,
            parent_state_root=head.parent_state_root,
            accumulate_root=summary.root,
            work_packages=tuple(
                ReportedWorkPackage(
                    guarantee.report.package_spec.hash, guarantee.report.package_spec.exports_root
                )
                for guarantee in extrinsic.guarantees
            ),
        ),
        spec,
    )

    # delta' = I(delta-double-dagger, E_P) (eq. 12.38).
    services = preimages.provide(
        accumulated.accounts,
        ((preimage.requester, preimage.blob) for preimage in extrinsic.preimages),
        head.slot,
    )

    # alpha' (eq. 8.2-8.3), with phi' from accumulation.
    pools, _ = authorizations.transition(
        authorizations.AuthorizationsState(
            auth_pools=state.auth_pools, auth_queues=accumulated.auth_queue
        ),
        authorizations.AuthorizationsInput(
            slot=head.slot,
            auths=tuple(
                CoreAuthorizer(guarantee.report.core_index, guarantee.report.authorizer_hash)
                for guarantee in extrinsic.guarantees
            ),
        ),
        spec,
    )

    # pi' (eq. 13.1-13.16).
    statistics = block_statistics(
        state.statistics,
        state.slot,
        head.slot,
        head.author_index,
        extrinsic,
        reported.reporters,
        posterior_safrole.active_validators,
        incoming,
        available.reported,
        summary.statistics,
        spec,
    )

    return State(
        auth_pools=pools.auth_pools,
        recent_blocks=new_history.beta,
        accumulation_outputs=tuple(
            AccumulationOutput(service, output) for service, output in summary.outputs
        ),
        gamma_k=posterior_safrole.pending_validators,
        gamma_z=posterior_safrole.epoch_root,
        gamma_s=posterior_safrole.sealing_keys,
        gamma_a=posterior_safrole.ticket_accumulator,
        services=services,
        entropy=posterior_safrole.entropy,
        next_validators=accumulated.staging_set,
        current_validators=posterior_safrole.active_validators,
        previous_validators=posterior_safrole.previous_validators,
        availability=guaranteed.avail_assignments,
        slot=head.slot,
        auth_queues=accumulated.auth_queue,
        privileges=accumulated.privileges,
        disputes=judged.psi,
        statistics=statistics,
        ready_queue=accumulated.ready_queue,
        accumulated=accumulated.accumulated,
    )
