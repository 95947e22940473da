"""Accumulation (graypaper 0.7.2 section 12): the ready queue and history, Δ+ over the
accumulatable reports, and the final integration of eq. 12.24-12.34.

`transition` is the STF of the w3f `stf/accumulate` vectors; `accumulate_block` also
returns what the block importer needs besides the state (theta', S).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from jamcore.crypto.hashing import keccak_256
from jamcore.merkle import well_balanced_root
from jamcore.pvm.host_calls.general import REPORT_ACC_GAS
from jamcore.pvm.invocations.accumulate import LOG_GAS
from jamcore.pvm.invocations.native import NativeService
from jamcore.pvm.invocations.partial_state import PartialState
from jamcore.spec import ChainSpec
from jamcore.stf.accumulate.queue import accumulatable, shift
from jamcore.stf.accumulate.sequence import Environment, ServiceIdConflict, outer
from jamcore.stf.accumulate.state import AccumulateInput, AccumulateState, AccumulationSummary
from jamcore.types.accumulation import Privileges
from jamcore.types.statistics import ServiceActivityRecord

__all__ = [
    "AccumulateInput",
    "AccumulateState",
    "AccumulationSummary",
    "ServiceIdConflict",
    "accumulate_block",
    "accumulation_root",
    "transition",
]


def accumulation_root(outputs: tuple[tuple[int, bytes], ...]) -> bytes:
    """M_B([E_4(s) ++ E(h) | (s, h) <- theta'], H_K) (eq. 7.3): the keccak well-balanced
    Merkle root of the accumulation outputs."""
    return well_balanced_root([s.to_bytes(4, "little") + h for s, h in outputs], keccak_256)


def accumulate_block(
    pre: AccumulateState,
    inputs: AccumulateInput,
    spec: ChainSpec,
    *,
    log_gas: int = LOG_GAS,
    natives: Mapping[bytes, NativeService] | None = None,
) -> tuple[AccumulateState, AccumulationSummary]:
    """eq. 12.10-12.34: accumulate W* within the block's gas and integrate the result.

    `natives` (code hash -> implementation, none by default) are run by Ψ_A in place of
    those services' PVM code, through the same host calls (`jamcore.pvm.invocations.native`):
    an implementation choice for services too heavy for the interpreter."""
    chi = pre.privileges
    reports, queued = accumulatable(inputs.reports, pre.ready_queue, pre.accumulated, inputs.slot)
    gas = max(spec.max_block_gas, REPORT_ACC_GAS * spec.cores_count + sum(chi.always_acc.values()))
    state = PartialState(
        pre.accounts,
        {},
        {},
        pre.staging_set,
        pre.auth_queue,
        chi.bless,
        tuple(chi.assign),
        chi.designate,
        chi.register,
        dict(chi.always_acc),
    )
    env = Environment(inputs.slot, pre.entropy, spec, log_gas, natives or {})
    result = outer(gas, [], reports, state, chi.always_acc, env)
    done = reports[: result.count]

    # S (eq. 12.28-12.29): gas used G(s) and digests accumulated N(s)
    gas_used: dict[int, int] = {}
    for service, used in result.gas_used:
        gas_used[service] = gas_used.get(service, 0) + used
    counts: dict[int, int] = {}
    for report in done:
        for digest in report.results:
            counts[digest.service_id] = counts.get(digest.service_id, 0) + 1
    statistics = {
        s: (gas_used.get(s, 0), counts.get(s, 0))
        for s in sorted(gas_used.keys() | counts.keys())
        if gas_used.get(s, 0) + counts.get(s, 0) != 0
    }

    # delta‡ (eq. 12.30-12.31): the last-accumulation slot of every accumulated service
    accounts = result.state.accounts()
    for service in statistics:
        account = accounts.get(service)
        if account is not None and account.info is not None:
            info = replace(account.info, last_accumulation_slot=inputs.slot)
            accounts[service] = replace(account, info=info)

    ready_queue, accumulated = shift(
        pre.ready_queue, pre.accumulated, queued, done, inputs.slot, pre.slot
    )
    e = result.state
    post = AccumulateState(
        slot=inputs.slot,
        entropy=pre.entropy,
        ready_queue=ready_queue,
        accumulated=accumulated,
        privileges=Privileges(
            bless=e.manager,
            assign=tuple(e.assigners),
            designate=e.delegator,
            register=e.registrar,
            always_acc=dict(e.always_acc),
        ),
        statistics={
            s: replace(ServiceActivityRecord.zero(), accumulate_count=n, accumulate_gas_used=g)
            for s, (g, n) in statistics.items()
        },
        accounts=accounts,
        staging_set=e.staging_set,  # type: ignore[arg-type]
        auth_queue=e.auth_queue,
    )
    outputs = tuple(sorted(result.outputs))
    return post, AccumulationSummary(outputs, statistics, tuple(done))


def transition(
    pre: AccumulateState,
    inputs: AccumulateInput,
    spec: ChainSpec,
    *,
    log_gas: int = LOG_GAS,
    natives: Mapping[bytes, NativeService] | None = None,
) -> tuple[AccumulateState, bytes]:
    """The accumulate STF: the post-state and the accumulation root of theta'."""
    post, summary = accumulate_block(pre, inputs, spec, log_gas=log_gas, natives=natives)
    return post, accumulation_root(summary.outputs)
