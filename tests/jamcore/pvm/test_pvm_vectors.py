"""Conformance: every pvm/programs/*.json vector, in both execution modes."""

from __future__ import annotations

from pathlib import Path

import pytest

from jamcore.pvm.exits import ExitStatus
from jamcore.pvm.host import MODES, run
from jamcore.pvm.program import Program
from tests.jamcore.pvm.vector_cases import (
    expected_memory,
    initial_state,
    load_case,
    nonzero_memory,
)
from tests.vectors import vector_params


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("path", vector_params("pvm/programs"))
def test_program_vector(path: Path, mode: str) -> None:
    case = load_case(path)
    program = Program.from_blob(bytes(case["program"]))
    state = initial_state(case)

    exit_ = run(program, state, mode=mode)

    assert exit_.status is ExitStatus(case["expected-status"])
    if exit_.status is ExitStatus.PAGE_FAULT:
        assert exit_.value == case["expected-page-fault-address"]
    assert state.registers == case["expected-regs"]
    assert state.pc == case["expected-pc"]
    assert state.gas == case["expected-gas"]
    assert nonzero_memory(state.memory) == expected_memory(case)
