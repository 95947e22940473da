"""Fixtures shared by the node tests that author blocks in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from shielded.node.genesis import (
    GenesisConfig,
    ValidatorSecrets,
    create_devnet,
    load_validator_secrets,
)


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenesisConfig]:
    """A 6-validator genesis with 1 s slots that started long ago (every slot is open)."""
    directory = tmp_path_factory.mktemp("devnet")
    config = create_devnet(directory, validators=6, slot_duration=1.0, genesis_delay=-10_000)
    return directory, config


@pytest.fixture(scope="module")
def validator_keys(devnet: tuple[Path, GenesisConfig]) -> list[ValidatorSecrets]:
    """Every genesis validator's secrets, by index."""
    directory, config = devnet
    return [load_validator_secrets(directory, i) for i in range(config.validators_count)]
