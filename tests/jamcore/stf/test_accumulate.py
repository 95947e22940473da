"""Accumulation (graypaper v0.7.2 section 12, Ψ_A of Appendix B) against the w3f
`stf/accumulate` vectors, tiny and full."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jamcore.codec import HASH, seq
from jamcore.spec import SPECS, ChainSpec
from jamcore.stf.accounts_json import accounts_from_json
from jamcore.stf.accumulate import AccumulateInput, AccumulateState, transition
from jamcore.stf.accumulate.queue import accumulation_queue, edit, with_dependencies
from jamcore.types.accumulation import (
    ReadyRecord,
    accumulated_codec,
    privileges_codec,
    ready_queue_codec,
)
from jamcore.types.statistics import SERVICES_STATISTICS
from jamcore.work.report import WORK_REPORT
from tests.vectors import vector_params


def spec_of(path: Path) -> ChainSpec:
    """The chain spec named by the vector's directory (`tiny` or `full`)."""
    return SPECS[path.parent.name]


def state_from_json(data: dict[str, Any], spec: ChainSpec) -> AccumulateState:
    """An `AccumulateState` of a vector state."""
    return AccumulateState(
        slot=data["slot"],
        entropy=HASH.from_json(data["entropy"]),
        ready_queue=ready_queue_codec(spec).from_json(data["ready_queue"]),
        accumulated=accumulated_codec(spec).from_json(data["accumulated"]),
        privileges=privileges_codec(spec).from_json(data["privileges"]),
        statistics=SERVICES_STATISTICS.from_json(data["statistics"]),
        accounts=accounts_from_json(data["accounts"]),
    )


def input_from_json(data: dict[str, Any]) -> AccumulateInput:
    return AccumulateInput(slot=data["slot"], reports=seq(WORK_REPORT).from_json(data["reports"]))


def _normalised(state: AccumulateState) -> AccumulateState:
    """The state with sets (the accumulated history's slots) in a canonical order."""
    return AccumulateState(
        slot=state.slot,
        entropy=state.entropy,
        ready_queue=state.ready_queue,
        accumulated=tuple(tuple(sorted(h)) for h in state.accumulated),
        privileges=state.privileges,
        statistics=dict(state.statistics),
        accounts=dict(state.accounts),
    )


@pytest.mark.parametrize("path", vector_params("stf/accumulate"))
def test_accumulate_vector(path: Path) -> None:
    spec = spec_of(path)
    case = json.loads(path.read_text())
    pre = state_from_json(case["pre_state"], spec)
    inputs = input_from_json(case["input"])
    expected = state_from_json(case["post_state"], spec)
    post, root = transition(pre, inputs, spec)
    assert root.hex() == case["output"]["ok"][2:]
    post, expected = _normalised(post), _normalised(expected)
    assert post.statistics == expected.statistics
    assert post.ready_queue == expected.ready_queue
    assert post.accumulated == expected.accumulated
    assert post.privileges == expected.privileges
    assert post.accounts.keys() == expected.accounts.keys()
    for service, account in expected.accounts.items():
        assert post.accounts[service].info == account.info, service
        assert dict(post.accounts[service].entries) == dict(account.entries), service
    assert post == expected


def _record(package: bytes, deps: tuple[bytes, ...], report: Any) -> ReadyRecord:
    spec = report.package_spec
    return ReadyRecord(
        type(report)(**{**report.__dict__, "package_spec": type(spec)(
            **{**spec.__dict__, "hash": package})}),
        deps,
    )


def test_queue_ordering_unlocks_chains() -> None:
    """Q takes dependency-free reports first and unlocks their dependants (eq. 12.8)."""
    path = next(
        (
            p
            for p in (Path(str(x.values[0])) for x in vector_params("stf/accumulate"))
            if p.name.startswith("process_one_immediate_report")
        ),
        None,
    )
    if path is None:
        pytest.skip("no stf/accumulate vector process_one_immediate_report* to take a report from")
    report = seq(WORK_REPORT).from_json(json.loads(path.read_text())["input"]["reports"])[0]
    a, b, c = (bytes([i]) * 32 for i in (1, 2, 3))
    records = [_record(c, (b,), report), _record(b, (a,), report), _record(a, (), report)]
    ordered = accumulation_queue(records)
    assert [r.package_spec.hash for r in ordered] == [a, b, c]
    assert edit(records, {a}) == [records[0], ReadyRecord(records[1].report, ())]
    assert with_dependencies(report).dependencies == ()
