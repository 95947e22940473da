"""Recent history: beta = (beta_H, beta_B) (graypaper v0.7.2 section 7, eq. 7.1-7.8).

Each block fills the parent's state root into the last history entry (eq. 7.5), appends
the accumulation-output root to the keccak MMR beta_B (eq. 7.7) and appends an entry for
itself: its header hash, the MMR's super-peak, a zero state root and the packages its
guarantees reported, keeping the last H entries (eq. 7.8).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

from jamcore.codec import HASH, Struct, seq
from jamcore.crypto.hashing import ZERO_HASH
from jamcore.merkle import mmr_append, mmr_super_peak
from jamcore.spec import ChainSpec
from jamcore.types.history import (
    REPORTED_WORK_PACKAGE,
    BlockInfo,
    Mmr,
    RecentBlocks,
    ReportedWorkPackage,
    recent_blocks_codec,
)


@dataclass(frozen=True)
class HistoryState:
    """beta: the recent blocks and the accumulation-output MMR (eq. 7.1)."""

    beta: RecentBlocks


@dataclass(frozen=True)
class HistoryInput:
    """What the block contributes: H(H), H_r, the accumulation-output root
    M_B(s, H_K) (eq. 7.6-7.7) and the (package hash, exports root) of each guarantee."""

    header_hash: bytes
    parent_state_root: bytes
    accumulate_root: bytes
    work_packages: tuple[ReportedWorkPackage, ...]


@cache
def history_state_codec(spec: ChainSpec) -> Struct[HistoryState]:
    """The w3f `stf/history` state: beta."""
    return Struct(HistoryState, {"beta": recent_blocks_codec(spec)})


HISTORY_INPUT = Struct(
    HistoryInput,
    {
        "header_hash": HASH,
        "parent_state_root": HASH,
        "accumulate_root": HASH,
        "work_packages": seq(REPORTED_WORK_PACKAGE),
    },
)
"""The w3f `stf/history` input."""


def with_parent_state_root(
    history: tuple[BlockInfo, ...], state_root: bytes
) -> tuple[BlockInfo, ...]:
    """beta_H^dagger (eq. 7.5): beta_H with the last entry's state root set to H_r."""
    if not history:
        return history
    return history[:-1] + (replace(history[-1], state_root=state_root),)


def reported_packages(packages: tuple[ReportedWorkPackage, ...]) -> tuple[ReportedWorkPackage, ...]:
    """p (eq. 7.8): the dictionary {package hash -> exports root} of the guarantees, held
    as its entries ordered by key (the dictionary encoding of eq. C.10)."""
    by_hash = {package.hash: package for package in packages}
    return tuple(by_hash[key] for key in sorted(by_hash))


def transition(
    pre: HistoryState, inputs: HistoryInput, spec: ChainSpec
) -> tuple[HistoryState, None]:
    """beta' (eq. 7.5-7.8): fix the parent's state root, append the accumulate root to the
    keccak MMR (A(beta_B, r, H_K), eq. 7.7) and append the block's entry
    (p, H(H), zero state root, M_R(beta_B')), keeping the last H entries."""
    history = with_parent_state_root(pre.beta.history, inputs.parent_state_root)
    peaks = tuple(mmr_append(pre.beta.mmr.peaks, inputs.accumulate_root))
    entry = BlockInfo(
        header_hash=inputs.header_hash,
        beefy_root=mmr_super_peak(peaks),
        state_root=ZERO_HASH,
        reported=reported_packages(inputs.work_packages),
    )
    history = (history + (entry,))[-spec.recent_history_size :]
    return HistoryState(RecentBlocks(history, Mmr(peaks))), None
