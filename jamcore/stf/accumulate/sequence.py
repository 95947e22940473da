"""Accumulation execution (graypaper 0.7.2 section 12.2, eq. 12.16-12.23): the outer
sequential Δ+, the parallel Δ* and the single-service Δ1.

Partial states are the layered `PartialState` of `jamcore.pvm.invocations`: each round
of Δ+ starts from a state whose own changes are empty, and every service of the round
runs on a child of it, so the parallel runs cannot see one another.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from jamcore.crypto.hashing import blake2b_256
from jamcore.errors import JamError
from jamcore.pvm.invocations.accumulate import AccumulationOutcome, accumulate
from jamcore.pvm.invocations.context import AccumulationInput, DeferredTransfer, OperandTuple
from jamcore.pvm.invocations.native import Natives
from jamcore.pvm.invocations.partial_state import AccountView, PartialState
from jamcore.spec import ChainSpec
from jamcore.work.report import WorkReport


class ServiceIdConflict(JamError):
    """Two services of one round created, altered or removed the same service (the block
    is invalid, section 12.2)."""

    code = "service_id_conflict"


@dataclass(frozen=True)
class Environment:
    """What every accumulation of a block shares: τ' (= H_t), η'_0, the chain spec, the
    gas of JIP-1's log, and the native service implementations by code hash (run in place
    of their PVM code, see `jamcore.pvm.invocations.native`; none by default)."""

    slot: int
    entropy: bytes
    spec: ChainSpec
    log_gas: int
    natives: Natives = field(default_factory=dict)


@dataclass(frozen=True)
class SequenceResult:
    """Δ+'s result (eq. 12.18): reports accumulated n, the post-state, the outputs b and
    the gas used u per service, in order."""

    count: int
    state: PartialState
    outputs: frozenset[tuple[int, bytes]]
    gas_used: tuple[tuple[int, int], ...]


def single(
    state: PartialState,
    transfers: Sequence[DeferredTransfer],
    reports: Sequence[WorkReport],
    free: Mapping[int, int],
    service: int,
    env: Environment,
) -> AccumulationOutcome:
    """Δ1(e, t, r, f, s) (eq. 12.23): Ψ_A with s's transfers then operand tuples, and gas
    f[s] + the transfers' gas + the digests' gas limits."""
    inputs: list[AccumulationInput] = [t for t in transfers if t.dest == service]
    gas = free.get(service, 0) + sum(t.gas for t in inputs)  # type: ignore[union-attr]
    for report in reports:
        spec = report.package_spec
        for digest in report.results:
            if digest.service_id == service:
                gas += digest.accumulate_gas
                inputs.append(
                    OperandTuple(
                        package_hash=spec.hash,
                        segment_root=spec.exports_root,
                        authorizer=report.authorizer_hash,
                        payload_hash=digest.payload_hash,
                        gas_limit=digest.accumulate_gas,
                        auth_trace=report.auth_output,
                        result=digest.result,
                    )
                )
    return accumulate(
        state.child(),
        env.slot,
        service,
        gas,
        inputs,
        entropy=env.entropy,
        spec=env.spec,
        log_gas=env.log_gas,
        natives=env.natives,
    )


def _replace_if_changed(original: int, manager_value: int, own_value: int) -> int:
    """R(o, a, b) (eq. 12.20): the manager's change if it made one, else the holder's."""
    return own_value if manager_value == original else manager_value


def _integrate_provisions(
    state: PartialState, changed: dict[int, AccountView | None], provisions: set, slot: int
) -> None:
    """I(d, p) (eq. 12.21-12.22) on the merged accounts: each still-requested blob
    becomes available from τ'."""
    for service, blob in provisions:
        view = changed[service] if service in changed else state.view(service)
        if view is None:
            continue
        digest = blake2b_256(blob)
        # Verify the request is there and empty (Y, eq. 12.22)
        if view.request(digest, len(blob)) != ():
            continue
        if service not in changed or view is state.inherited.get(service):
            view = view.copy()
            changed[service] = view
        view.set_request(digest, len(blob), (slot,))
        view.set_preimage(digest, blob)


def parallel(
    state: PartialState,
    transfers: Sequence[DeferredTransfer],
    reports: Sequence[WorkReport],
    free: Mapping[int, int],
    env: Environment,
) -> tuple[PartialState, list[DeferredTransfer], set[tuple[int, bytes]], list[tuple[int, int]]]:
    """Δ*(e, t, r, f) (eq. 12.19-12.20): accumulate every service of the digests, of f
    and of the transfers' receivers on e, and merge: each service's own account and the
    services it created, minus those removed; privileges by R; the staging set and
    authorizer queues from their holders; then the provisions."""
    services = sorted(
        {d.service_id for r in reports for d in r.results} | set(free) | {t.dest for t in transfers}
    )
    outcomes = {s: single(state, transfers, reports, free, s, env) for s in services}
    gas_used = [(s, outcomes[s].gas_used) for s in services]
    outputs = {(s, o.yielded) for s, o in outcomes.items() if o.yielded is not None}
    new_transfers = [t for s in services for t in outcomes[s].transfers]

    changed = dict(state.changed_accounts())
    owner: dict[int, int] = {}
    removed: set[int] = set()
    for s in services:
        for service, view in outcomes[s].state.touched.items():
            if view is None:
                if state.exists(service):
                    removed.add(service)
                continue
            if service == s or not state.exists(service):
                # Verify no two services contribute the same new or altered service
                if owner.setdefault(service, s) != s:
                    raise ServiceIdConflict(f"service {service} produced by {owner[service]}, {s}")
                changed[service] = view
    for service in removed:
        changed[service] = None

    def post(service: int) -> PartialState:
        outcome = outcomes.get(service)
        return state if outcome is None else outcome.state

    manager_state = post(state.manager)
    cores = range(len(state.assigners))
    assigners = tuple(
        _replace_if_changed(
            state.assigners[c],
            manager_state.assigners[c],
            post(state.assigners[c]).assigners[c],
        )
        for c in cores
    )
    delegator = _replace_if_changed(
        state.delegator, manager_state.delegator, post(state.delegator).delegator
    )
    registrar = _replace_if_changed(
        state.registrar, manager_state.registrar, post(state.registrar).registrar
    )
    auth_queue = state.auth_queue
    queues = [post(state.assigners[c]).auth_queue for c in cores]
    if any(q is not None for q in queues):
        auth_queue = tuple(() if q is None else q[c] for c, q in zip(cores, queues, strict=True))
    result = PartialState(
        state.base,
        changed,
        {},
        post(state.delegator).staging_set,
        auth_queue,
        manager_state.manager,
        assigners,
        delegator,
        registrar,
        manager_state.always_acc,
    )
    provisions: set[tuple[int, bytes]] = set()
    for s in services:
        provisions |= outcomes[s].provisions
    if provisions:
        _integrate_provisions(result, changed, provisions, env.slot)
    return result, new_transfers, outputs, gas_used


def outer(
    gas: int,
    transfers: Sequence[DeferredTransfer],
    reports: Sequence[WorkReport],
    state: PartialState,
    free: Mapping[int, int],
    env: Environment,
) -> SequenceResult:
    """Δ+(g, t, r, e, f) (eq. 12.18): accumulate the longest prefix of r whose gas limits
    fit g, with the transfers and free gas, then the rest with the new transfers and the
    gas left, until nothing is left to do."""
    count = 0
    outputs: set[tuple[int, bytes]] = set()
    used: list[tuple[int, int]] = []
    while True:
        i, total = 0, 0
        for report in reports:
            total += sum(d.accumulate_gas for d in report.results)
            if total > gas:
                break
            i += 1
        if len(transfers) + i + len(free) == 0:
            break
        gas += sum(t.gas for t in transfers)
        state, new_transfers, round_outputs, round_used = parallel(
            state, transfers, reports[:i], free, env
        )
        count += i
        outputs |= round_outputs
        used += round_used
        gas -= sum(u for _, u in round_used)
        transfers, reports, free = new_transfers, reports[i:], {}
    return SequenceResult(count, state, frozenset(outputs), tuple(used))
