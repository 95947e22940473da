"""`shielded simulate` arguments and run function, and the report files and charts."""

from __future__ import annotations

import argparse
import csv
import io
import json
import socket
from pathlib import Path

import pytest

from shielded.sim.cli import add_simulate_arguments, run_simulate
from shielded.sim.model import COLUMNS

SMALL = ["--users", "1500", "--epochs", "20", "--lifetime", "4", "--seed", "5"]


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="shielded simulate")
    add_simulate_arguments(parser)
    return run_simulate(parser.parse_args(argv))


def test_table_run_prints_every_output_column(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(SMALL) == 0
    header = capsys.readouterr().out.splitlines()[0].split()
    assert header == list(COLUMNS)


def test_csv_and_json_runs_are_reproducible(capsys: pytest.CaptureFixture[str]) -> None:
    assert run([*SMALL, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 20 and rows[0]["run"] == "ephemeral N=4"
    assert run([*SMALL, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (only,) = data["runs"]
    assert only["params"]["lifetime"] == 4 and only["params"]["policy"] == "ephemeral"
    assert [str(v) for v in only["columns"]["state_bytes"]] == [r["state_bytes"] for r in rows]


def test_sweep_writes_results_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [*SMALL, "--sweep", "policy=permanent,ephemeral", "--workers", "2", "--out"]
    assert run([*argv, str(tmp_path)]) == 0
    summary = capsys.readouterr().out
    assert "permanent-only" in summary and "ephemeral N=4" in summary
    runs = json.loads((tmp_path / "results.json").read_text())["runs"]
    assert [r["params"]["policy"] for r in runs] == ["permanent", "ephemeral"]
    assert len((tmp_path / "results.csv").read_text().splitlines()) == 1 + 2 * 20


def test_set_changes_behaviour(capsys: pytest.CaptureFixture[str]) -> None:
    assert run([*SMALL, "--set", "pay_rate=0.4", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["runs"][0]["params"]["pay_rate"] == 0.4


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--users", "0"], "users = 0 out of range"),
        (["--lifetime", "40"], "lifetime = 40 out of range: expected an integer in [1, 31]"),
        (["--set", "renew_rate=2"], "renew_rate = 2.0 out of range"),
        (["--set", "renew_rate"], "expected PARAM=VALUE"),
        (["--sweep", "epochs=10,zero"], "epochs = 'zero': expected an integer"),
    ],
)
def test_invalid_input_exits_2_naming_the_parameter(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(argv) == 2
    assert message in capsys.readouterr().err


def test_chart_draws_in_the_terminal_and_to_png(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("plotext")
    pytest.importorskip("matplotlib")
    assert run([*SMALL, "--chart", "--out", str(tmp_path)]) == 0
    assert "state_bytes" in capsys.readouterr().out
    png = (tmp_path / "state-bytes.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 1000


def test_calibrate_without_a_devnet_says_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["--calibrate", "--dir", str(tmp_path)]) == 3
    assert "genesis.json is missing" in capsys.readouterr().err
    assert run(["--calibrate"]) == 2
    assert "--calibrate needs --dir" in capsys.readouterr().err


def test_calibrate_against_a_silent_port_says_no_validator_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / "genesis.json").write_text(json.dumps({"validators": [{"rpc_port": port}]}))
    assert run(["--calibrate", "--dir", str(tmp_path)]) == 3
    assert f"no validator answers on 127.0.0.1:{port}" in capsys.readouterr().err
