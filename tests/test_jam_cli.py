"""`shielded jam import` and the trace runner behind it, on the shared block-import traces."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from jamcore.block import Block
from jamcore.conformance.runner import (
    first_difference,
    run_trace,
    timing_summary,
    trace_directories,
)
from jamcore.errors import JamError
from jamcore.spec import TINY, ChainSpec
from jamcore.state.keys import component_key, service_account_key, storage_key
from jamcore.state.state import State
from tests.vectors import VECTORS

TRACES = VECTORS / "traces"
TRACE_DIRS = trace_directories(TRACES) if TRACES.is_dir() else []


def test_help_lists_the_jam_subcommands() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "jam", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "import" in out and "fuzz-target" in out


def test_import_of_a_directory_without_traces_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["jam", "import", str(tmp_path)]) == 2
    assert "no trace files" in capsys.readouterr().err


def test_first_difference_names_the_component_and_field() -> None:
    from jamcore.state.serialize import encode_slot

    slot, account, item = component_key(11), service_account_key(7), storage_key(7, b"k")
    expected = {slot: encode_slot(5), account: b"a", item: b"x"}
    assert first_difference(expected, dict(expected), TINY) is None

    difference = first_difference(expected, {**expected, slot: encode_slot(6)}, TINY)
    assert difference is not None
    assert (difference.key, difference.kind) == (slot, "value")
    assert difference.component == "C(11) tau slot"
    assert difference.fields == ("value",)

    difference = first_difference(expected, {slot: encode_slot(5), account: b"a"}, TINY)
    assert difference is not None and difference.kind == "missing"
    assert difference.component == "C(7, h) service 7 data"

    difference = first_difference(
        {slot: encode_slot(5)}, {slot: encode_slot(5), account: b""}, TINY
    )
    assert difference is not None and difference.kind == "unexpected"
    assert difference.component == "C(255, 7) service 7 account"


def test_timing_summary() -> None:
    assert timing_summary([3.0, 1.0, 2.0, 10.0]) == {"mean_ms": 4.0, "p50_ms": 2.5, "max_ms": 10.0}
    assert timing_summary([]) == {"mean_ms": 0.0, "p50_ms": 0.0, "max_ms": 0.0}


def _reject_all(state: State, block: Block, spec: ChainSpec, root: bytes) -> State:
    raise JamError("rejected by the test importer", code="test_rejection")


@pytest.mark.skipif(not TRACE_DIRS, reason=f"no traces under {TRACES}")
def test_runner_notes_forks_and_reports_rejections(tmp_path: Path) -> None:
    source = TRACE_DIRS[0]
    steps = sorted(p for p in source.glob("*.bin") if p.name != "genesis.bin")
    for step in (steps[0], steps[2]):  # step 2 left out: step 3 branches off step 1
        shutil.copy(step, tmp_path / step.name)
    report = run_trace(tmp_path, TINY, _reject_all)
    first, third = report.steps
    assert not report.passed and report.first_failure is first
    assert first.rejection == "test_rejection" and "block rejected" in (first.problem or "")
    # A step off the chain of post-states is a fork: imported from its own pre-state.
    assert third.rejection == "test_rejection" and "(a fork)" in (third.note or "")
    assert first.note is None


@pytest.mark.skipif(not TRACE_DIRS, reason=f"no traces under {TRACES}")
@pytest.mark.parametrize("directory", TRACE_DIRS, ids=[d.name for d in TRACE_DIRS])
def test_every_trace_imports(directory: Path) -> None:
    report = run_trace(directory, TINY)
    failure = report.first_failure
    detail = failure and (failure.name, failure.problem, failure.mismatch)
    assert report.passed, detail


@pytest.mark.skipif(not TRACE_DIRS, reason=f"no traces under {TRACES}")
def test_import_json_prints_one_object_per_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = TRACE_DIRS[0]
    for name in ("genesis.bin", "00000001.bin", "00000002.bin"):
        if (source / name).is_file():
            shutil.copy(source / name, tmp_path / name)
    code = main(["jam", "import", str(tmp_path), "--json"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    summary = json.loads(lines[0])
    assert summary["blocks"] == 2 and summary["trace"] == str(tmp_path)
    assert code == (0 if summary["passed"] else 1)
    assert {"mean_ms", "p50_ms", "max_ms", "first_failure", "failures"} <= set(summary)
    assert summary["max_ms"] >= summary["p50_ms"] > 0


def test_fuzz_target_command_serves_the_handshake() -> None:
    import signal
    import socket
    import tempfile
    import time

    from jamcore.conformance.fuzz_framing import receive_message, send_message
    from jamcore.conformance.fuzz_protocol import PeerInfo, Version

    with tempfile.TemporaryDirectory(prefix="jamcli") as directory:
        path = Path(directory) / "target.sock"
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "jam", "fuzz-target", "--socket", str(path)],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while not path.exists():
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.settimeout(30)
                client.connect(str(path))
                send_message(client, PeerInfo(1, 3, Version(0, 7, 2), Version(1, 0, 0), "t"), TINY)
                answer = receive_message(client, TINY)
            assert isinstance(answer, PeerInfo) and answer.jam_version == Version(0, 7, 2)
        finally:
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert "listening" in err and not path.exists()


@pytest.mark.skipif(not TRACE_DIRS, reason=f"no traces under {TRACES}")
def test_a_step_recording_an_invalid_block_passes_only_if_rejected() -> None:
    from jamcore.conformance.runner import run_step
    from jamcore.conformance.trace import read_trace_step

    path = sorted(TRACE_DIRS[0].glob("0*.bin"))[0]
    step = read_trace_step(path.read_bytes(), TINY)
    rejected = run_step("s", step.pre, step.block, step.pre, TINY, _reject_all)
    assert rejected.passed and rejected.expects_rejection and rejected.rejection == "test_rejection"

    def keep(state: State, block: Block, spec: ChainSpec, root: bytes) -> State:
        from dataclasses import replace

        return replace(state, slot=state.slot + 1)

    accepted = run_step("s", step.pre, step.block, step.pre, TINY, keep)
    assert not accepted.passed and accepted.problem == "invalid block accepted"
    assert accepted.mismatch is not None and accepted.mismatch.component == "C(11) tau slot"
