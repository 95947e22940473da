"""Blockhash-bound computational spam proofs, tiers and capacity quotas (design section 3).

`work.py` defines the work function and the proof record, `anchors.py` the window of recent
block hashes a proof may be anchored to, `registry.py` the used-proof registry, `verify.py`
the checks the pool service runs, `solver.py` the single- and multi-core solvers,
`capacity.py` how a block builder fills each tier's quota, and `quota.py` the capacity and
quota rule the pool's refine and accumulate enforce on what reaches a block. Tier
parameters live in `shielded.spec.PoolSpec`.
"""

from shielded.pow.anchors import RecentAnchors
from shielded.pow.capacity import BlockFill, Candidate, Rejection, fill_block
from shielded.pow.errors import (
    AnchorNotRecent,
    InsufficientWork,
    MalformedProof,
    ReplayedProof,
    SolveCancelled,
    SpamProofError,
    StaleAnchor,
    UnknownAnchor,
    UnknownTier,
    WrongTransaction,
)
from shielded.pow.registry import UsedProofs
from shielded.pow.solver import SolveProgress, solve, solve_parallel
from shielded.pow.verify import SpamProofVerifier
from shielded.pow.work import DOMAIN, SpamProof, check_work, leading_zero_bits, work_hash

__all__ = [
    "DOMAIN",
    "AnchorNotRecent",
    "BlockFill",
    "Candidate",
    "InsufficientWork",
    "MalformedProof",
    "RecentAnchors",
    "Rejection",
    "ReplayedProof",
    "SolveCancelled",
    "SolveProgress",
    "SpamProof",
    "SpamProofError",
    "SpamProofVerifier",
    "StaleAnchor",
    "UnknownAnchor",
    "UnknownTier",
    "UsedProofs",
    "WrongTransaction",
    "check_work",
    "fill_block",
    "leading_zero_bits",
    "solve",
    "solve_parallel",
    "work_hash",
]
