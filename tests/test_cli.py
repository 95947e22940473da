"""The `shielded` command's help and version."""

import subprocess
import sys

import pytest

from app.cli import main
from shielded import __version__


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"shielded {__version__}"


def test_help_lists_subcommands() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("devnet", "demo", "wallet", "simulate"):
        assert command in out
