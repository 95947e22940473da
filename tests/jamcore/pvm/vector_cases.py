"""Loading PVM test vectors (pvm/programs/*.json) into machine states and back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jamcore.pvm.machine import MachineState
from jamcore.pvm.memory import Memory


def load_case(path: Path) -> dict[str, Any]:
    """The JSON test case at `path`."""
    return json.loads(path.read_text())


def initial_state(case: dict[str, Any]) -> MachineState:
    """ı, ϱ, ω, µ as the case describes them before execution."""
    memory = Memory()
    for region in case["initial-page-map"]:
        memory.map(region["address"], region["length"], writable=region["is-writable"])
    for chunk in case["initial-memory"]:
        memory.poke(chunk["address"], bytes(chunk["contents"]))
    return MachineState.create(
        pc=case["initial-pc"], gas=case["initial-gas"], registers=case["initial-regs"],
        memory=memory,
    )


def expected_memory(case: dict[str, Any]) -> dict[int, int]:
    """Every non-zero accessible octet after execution, by address."""
    octets: dict[int, int] = {}
    for chunk in case["expected-memory"]:
        for i, byte in enumerate(chunk["contents"]):
            if byte:
                octets[chunk["address"] + i] = byte
    return octets


def nonzero_memory(memory: Memory) -> dict[int, int]:
    """Every non-zero accessible octet of `memory`, by address."""
    return {
        address + i: byte
        for address, contents, _ in memory.pages()
        for i, byte in enumerate(contents)
        if byte
    }
