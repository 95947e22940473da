"""beta: recent blocks and the accumulation-output MMR (graypaper section 7, eq. 7.1-7.2)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from jamcore.codec import HASH, Struct, optional, seq
from jamcore.spec import ChainSpec


@dataclass(frozen=True)
class ReportedWorkPackage:
    """A package reported in a block: its hash and its segment (exports) root."""

    hash: bytes
    exports_root: bytes


@dataclass(frozen=True)
class BlockInfo:
    """One recent block (eq. 7.2): header hash, accumulation MMR super-peak, state root
    (zero until the next block fills it in) and the packages it reported."""

    header_hash: bytes
    beefy_root: bytes
    state_root: bytes
    reported: tuple[ReportedWorkPackage, ...]


@dataclass(frozen=True)
class Mmr:
    """beta_B: a Merkle mountain range of accumulation outputs (Appendix E.2)."""

    peaks: tuple[bytes | None, ...]


@dataclass(frozen=True)
class RecentBlocks:
    """beta = (beta_H, beta_B): the recent-block history and the MMR (eq. 7.1)."""

    history: tuple[BlockInfo, ...]
    mmr: Mmr


REPORTED_WORK_PACKAGE = Struct(ReportedWorkPackage, {"hash": HASH, "exports_root": HASH})
BLOCK_INFO = Struct(
    BlockInfo,
    {
        "header_hash": HASH,
        "beefy_root": HASH,
        "state_root": HASH,
        "reported": seq(REPORTED_WORK_PACKAGE),
    },
)
MMR = Struct(Mmr, {"peaks": seq(optional(HASH))})


@cache
def recent_blocks_codec(spec: ChainSpec) -> Struct[RecentBlocks]:
    """C(3): E(↕beta_H, E_M(beta_B)) with at most H blocks in beta_H (eq. 7.2, D.2)."""
    return Struct(
        RecentBlocks,
        {"history": seq(BLOCK_INFO, max_length=spec.recent_history_size), "mmr": MMR},
    )
