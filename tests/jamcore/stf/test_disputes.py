"""Conformance: every w3f `stf/disputes` vector gives exactly its post_state and output.

Also decodes each binary twin with the JAM codec and checks it against the JSON, and
checks properties of the transition on generated extrinsics signed with fresh keys.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from jamcore.block import (
    ED25519_PUBLIC,
    Culprit,
    DisputesExtrinsic,
    Fault,
    Judgement,
    Verdict,
    block_codecs,
)
from jamcore.codec import U8, U32, Choice, Codec, Struct, Variant, seq
from jamcore.spec import TINY, ChainSpec
from jamcore.stf.disputes import (
    GUARANTEE_CONTEXT,
    INVALID_CONTEXT,
    VALID_CONTEXT,
    DisputesError,
    DisputesInput,
    DisputesOutput,
    DisputesState,
    transition,
)
from jamcore.types import DISPUTES_RECORDS, DisputesRecords, ValidatorKey
from jamcore.types.availability import availability_codec
from jamcore.types.validators import validators_codec
from tests.jamcore.stf.checks import spec_of
from tests.vectors import vector_params

ERROR_CODES = (
    "already_judged",
    "bad_vote_split",
    "verdicts_not_sorted_unique",
    "judgements_not_sorted_unique",
    "culprits_not_sorted_unique",
    "faults_not_sorted_unique",
    "not_enough_culprits",
    "not_enough_faults",
    "culprits_verdict_not_bad",
    "fault_verdict_wrong",
    "offender_already_reported",
    "bad_judgement_age",
    "bad_validator_index",
    "bad_signature",
    "bad_guarantor_key",
    "bad_auditor_key",
)
"""ErrorCode of disputes.asn, in enumeration order."""


@dataclass(frozen=True)
class VectorCase:
    """A vector: input, pre_state, output and post_state (disputes.asn)."""

    input: DisputesInput
    pre_state: DisputesState
    output: Variant
    post_state: DisputesState


def state_codec(spec: ChainSpec) -> Struct[DisputesState]:
    """The vectors' State (the JSON key of lambda_ is `lambda`; see state_from_json)."""
    return Struct(
        DisputesState,
        {
            "psi": DISPUTES_RECORDS,
            "rho": availability_codec(spec),
            "tau": U32,
            "kappa": validators_codec(spec),
            "lambda_": validators_codec(spec),
        },
    )


def input_codec(spec: ChainSpec) -> Struct[DisputesInput]:
    return Struct(DisputesInput, {"disputes": block_codecs(spec).disputes_extrinsic})


OUTPUT = Choice(
    [
        ("ok", Struct(DisputesOutput, {"offenders_mark": seq(ED25519_PUBLIC)})),
        ("err", U8),
    ]
)


def vector_case_codec(spec: ChainSpec) -> Codec[VectorCase]:
    state = state_codec(spec)
    return Struct(
        VectorCase,
        {"input": input_codec(spec), "pre_state": state, "output": OUTPUT, "post_state": state},
    )


def state_from_json(data: dict[str, Any], spec: ChainSpec) -> DisputesState:
    return state_codec(spec).from_json({**data, "lambda_": data["lambda"]})


def state_to_json(state: DisputesState, spec: ChainSpec) -> dict[str, Any]:
    data = state_codec(spec).to_json(state)
    data["lambda"] = data.pop("lambda_")
    return data


@pytest.mark.parametrize("path", vector_params("stf/disputes"))
def test_disputes_vector(path: Path) -> None:
    case = json.loads(path.read_text())
    spec = spec_of(path)
    prior = state_from_json(case["pre_state"], spec)
    inputs = input_codec(spec).from_json(case["input"])
    try:
        posterior, output = transition(prior, inputs, spec)
        result: dict[str, Any] = OUTPUT.to_json(Variant("ok", output))
    except DisputesError as error:
        posterior, result = prior, {"err": error.code}
    assert result == case["output"]
    assert state_to_json(posterior, spec) == case["post_state"]
    if "err" in result:
        assert posterior == state_from_json(case["pre_state"], spec)


@pytest.mark.parametrize("path", vector_params("stf/disputes", "*.bin"))
def test_disputes_binary_matches_json(path: Path) -> None:
    spec = spec_of(path)
    codec = vector_case_codec(spec)
    data = path.read_bytes()
    decoded = codec.decode(data)
    case = json.loads(path.with_suffix(".json").read_text())
    assert decoded.input == input_codec(spec).from_json(case["input"])
    assert decoded.pre_state == state_from_json(case["pre_state"], spec)
    assert decoded.post_state == state_from_json(case["post_state"], spec)
    output = decoded.output
    if output.tag == "err":
        assert {"err": ERROR_CODES[output.value]} == case["output"]
    else:
        assert OUTPUT.to_json(output) == case["output"]
    assert codec.encode(decoded) == data


# --- Properties on generated extrinsics ---------------------------------------------------

SIGNERS = tuple(SigningKey(bytes([i + 1]) * 32) for i in range(TINY.validators_count))
PREVIOUS_SIGNERS = tuple(SigningKey(bytes([i + 101]) * 32) for i in range(TINY.validators_count))


def validator_set(signers: tuple[SigningKey, ...]) -> tuple[ValidatorKey, ...]:
    return tuple(
        ValidatorKey(bytes(32), bytes(s.verify_key), bytes(144), bytes(128)) for s in signers
    )


def signed(signer: SigningKey, message: bytes) -> bytes:
    return signer.sign(message).signature


def verdict(target: bytes, approvals: int, age: int = 0) -> Verdict:
    """A verdict of the first floor(2V/3)+1 validators, the first `approvals` voting valid."""
    votes = []
    for index in range(TINY.validators_super_majority):
        vote = index < approvals
        context = VALID_CONTEXT if vote else INVALID_CONTEXT
        votes.append(Judgement(vote, index, signed(SIGNERS[index], context + target)))
    return Verdict(target, age, tuple(votes))


def culprits(target: bytes, indices: list[int]) -> tuple[Culprit, ...]:
    found = [
        Culprit(
            target, bytes(SIGNERS[i].verify_key), signed(SIGNERS[i], GUARANTEE_CONTEXT + target)
        )
        for i in indices
    ]
    return tuple(sorted(found, key=lambda c: c.key))


def empty_state(tau: int = 0) -> DisputesState:
    return DisputesState(
        psi=DisputesRecords((), (), (), ()),
        rho=(None,) * TINY.cores_count,
        tau=tau,
        kappa=validator_set(SIGNERS),
        lambda_=validator_set(PREVIOUS_SIGNERS),
    )


def run(state: DisputesState, extrinsic: DisputesExtrinsic) -> tuple[DisputesState, DisputesOutput]:
    return transition(state, DisputesInput(extrinsic), TINY)


HASHES = st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=3, unique=True)


@settings(max_examples=15, deadline=None)
@given(HASHES)
def test_bad_verdicts_are_recorded_sorted(targets: list[bytes]) -> None:
    """Bad verdicts with two culprits each land in psi_B sorted; culprits become offenders."""
    targets.sort()
    found = (c for n, t in enumerate(targets) for c in culprits(t, [2 * n, 2 * n + 1]))
    extrinsic = DisputesExtrinsic(
        verdicts=tuple(verdict(t, 0) for t in targets),
        culprits=tuple(sorted(found, key=lambda c: c.key)),
        faults=(),
    )
    posterior, output = run(empty_state(), extrinsic)
    assert posterior.psi.bad == tuple(targets)
    assert posterior.psi.offenders == tuple(sorted(output.offenders_mark))
    assert len(output.offenders_mark) == 2 * len(targets)
    # One key guaranteeing two of the bad reports is a duplicate in E_C (eq. 10.8).
    if len(targets) > 1:
        twice = culprits(targets[0], [0, 1]) + culprits(targets[1], [0, 1])
        doubled = replace(extrinsic, culprits=tuple(sorted(twice, key=lambda c: c.key)))
        with pytest.raises(DisputesError) as error:
            run(empty_state(), doubled)
        assert error.value.code == "culprits_not_sorted_unique"


@settings(max_examples=15, deadline=None)
@given(HASHES)
def test_unsorted_verdicts_rejected(targets: list[bytes]) -> None:
    """Any order of verdicts other than strictly ascending report hashes is rejected."""
    ordered = sorted(targets)
    reordered = list(reversed(ordered)) if len(ordered) > 1 else ordered * 2
    extrinsic = DisputesExtrinsic(tuple(verdict(t, 2) for t in reordered), (), ())
    with pytest.raises(DisputesError) as error:
        run(empty_state(), extrinsic)
    assert error.value.code == "verdicts_not_sorted_unique"


def test_wonky_verdict_clears_nothing_without_rho_and_needs_no_offences() -> None:
    target = bytes(range(32))
    posterior, output = run(empty_state(), DisputesExtrinsic((verdict(target, 2),), (), ()))
    assert posterior.psi.wonky == (target,)
    assert output.offenders_mark == ()


def test_previous_epoch_verdict_uses_lambda() -> None:
    target = bytes(32)
    extrinsic = DisputesExtrinsic((verdict(target, 2, age=0),), (), ())
    with pytest.raises(DisputesError) as error:  # signed by kappa's keys, checked against lambda
        run(empty_state(tau=TINY.epoch_length), extrinsic)
    assert error.value.code == "bad_signature"
    with pytest.raises(DisputesError) as error:
        run(empty_state(tau=2 * TINY.epoch_length), extrinsic)
    assert error.value.code == "bad_judgement_age"


def test_invalid_extrinsic_leaves_state_untouched() -> None:
    target = bytes(32)
    state = empty_state()
    bad = verdict(target, 0)
    forged = replace(bad, votes=(replace(bad.votes[0], signature=bytes(64)), *bad.votes[1:]))
    extrinsic = DisputesExtrinsic((forged,), culprits(target, [0, 1]), ())
    with pytest.raises(DisputesError) as error:
        run(state, extrinsic)
    assert error.value.code == "bad_signature"
    assert state == empty_state()


def test_fault_on_good_verdict() -> None:
    target = bytes([7]) * 32
    dissenter = SIGNERS[5]
    fault = Fault(
        target, False, bytes(dissenter.verify_key), signed(dissenter, INVALID_CONTEXT + target)
    )
    extrinsic = DisputesExtrinsic((verdict(target, 5),), (), (fault,))
    posterior, output = run(empty_state(), extrinsic)
    assert posterior.psi.good == (target,)
    assert output.offenders_mark == (fault.key,)
    agreeing = replace(fault, vote=True, signature=signed(dissenter, VALID_CONTEXT + target))
    with pytest.raises(DisputesError) as error:
        run(empty_state(), replace(extrinsic, faults=(agreeing,)))
    assert error.value.code == "fault_verdict_wrong"
