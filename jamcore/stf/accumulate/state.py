"""The accumulate transition's state and input (graypaper 0.7.2 section 12; the fields
of the w3f `stf/accumulate` vectors)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from jamcore.safrole.state import ValidatorKey
from jamcore.types.accumulation import Privileges, ReadyRecord
from jamcore.types.services import ServiceAccount
from jamcore.types.statistics import ServiceActivityRecord
from jamcore.work.report import WorkReport


@dataclass(frozen=True)
class AccumulateState:
    """tau, eta'_0, omega, xi, chi, pi_S and delta as accumulation reads and writes them.

    `staging_set` (iota) and `auth_queue` (phi) are what `designate` and `assign` change;
    the vectors carry neither, so they may be None there (then they stay None unless a
    service sets them)."""

    slot: int
    entropy: bytes
    ready_queue: tuple[tuple[ReadyRecord, ...], ...]
    accumulated: tuple[tuple[bytes, ...], ...]
    privileges: Privileges
    statistics: Mapping[int, ServiceActivityRecord]
    accounts: Mapping[int, ServiceAccount]
    staging_set: tuple[ValidatorKey, ...] | None = None
    auth_queue: tuple[tuple[bytes, ...], ...] | None = None


@dataclass(frozen=True)
class AccumulateInput:
    """H_t and the newly available work-reports W (eq. 11.16)."""

    slot: int
    reports: tuple[WorkReport, ...]


@dataclass(frozen=True)
class AccumulationSummary:
    """What the rest of the block import needs besides the state: theta' (eq. 12.25),
    the accumulation statistics S (eq. 12.28-12.29: service -> (G(s), N(s))), and the
    reports accumulated W*[..n]."""

    outputs: tuple[tuple[int, bytes], ...]
    statistics: Mapping[int, tuple[int, int]]
    accumulated: tuple[WorkReport, ...]

    @property
    def root(self) -> bytes:
        """The accumulation root of theta' (eq. 7.3), as the recent history needs it."""
        from jamcore.stf.accumulate import accumulation_root

        return accumulation_root(self.outputs)
