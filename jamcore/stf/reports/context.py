"""Contextual validity of reports (graypaper v0.7.2 section 11.4.1, eq. 11.31-11.41).

A report's anchor must be a recent block with the same state root and accumulation
super-peak, its lookup anchor at most L slots old, its package new to the pipeline and
to the extrinsic, and its prerequisites and segment-root lookups satisfied by the
extrinsic or the recent history.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Protocol

from jamcore.errors import ensure
from jamcore.spec import ChainSpec
from jamcore.stf.reports.errors import (
    AnchorNotRecent,
    BadBeefyMmrRoot,
    BadStateRoot,
    DependencyMissing,
    DuplicatePackage,
    LookupAnchorNotRecent,
    SegmentRootLookupInvalid,
)
from jamcore.types.history import BlockInfo, RecentBlocks
from jamcore.work.package import RefineContext
from jamcore.work.report import WorkReport


def blocks_by_hash(recent_blocks: RecentBlocks) -> dict[bytes, BlockInfo]:
    """beta_H indexed by header hash."""
    return {block.header_hash: block for block in recent_blocks.history}


def recently_reported(recent_blocks: RecentBlocks) -> dict[bytes, bytes]:
    """The union of the recent blocks' reported packages: package hash -> segment root."""
    reported: dict[bytes, bytes] = {}
    for block in recent_blocks.history:
        for package in block.reported:
            reported[package.hash] = package.exports_root
    return reported


def check_anchor(context: RefineContext, blocks: Mapping[bytes, BlockInfo]) -> None:
    """Some y in beta_H has x_a = y_h, x_s = y_s and x_b = y_b (eq. 11.33)."""
    block = blocks.get(context.anchor)
    # Verify the anchor is one of the recent blocks.
    ensure(block is not None, AnchorNotRecent(f"anchor 0x{context.anchor.hex()}"))
    assert block is not None
    # Verify the anchor's posterior state root.
    ensure(
        context.state_root == block.state_root,
        BadStateRoot(f"state root 0x{context.state_root.hex()} at the anchor"),
    )
    # Verify the anchor's accumulation-output super-peak.
    ensure(
        context.beefy_root == block.beefy_root,
        BadBeefyMmrRoot(f"beefy root 0x{context.beefy_root.hex()} at the anchor"),
    )


class Ancestry(Protocol):
    """A (eq. 5.3): the headers of the chain a block extends, which the state does not hold."""

    def holds(self, header_hash: bytes, slot: int) -> bool:
        """Whether an ancestor header of slot `slot` has the hash `header_hash`."""
        ...


def check_lookup_anchor_ancestry(context: RefineContext, ancestry: Ancestry) -> None:
    """∃h ∈ A: h_t = x_t ∧ H(h) = x_l (eq. 11.35): the lookup anchor is an ancestor."""
    # Verify the lookup anchor is a header of this chain at its stated slot.
    ensure(
        ancestry.holds(context.lookup_anchor, context.lookup_anchor_slot),
        LookupAnchorNotRecent(
            f"lookup anchor 0x{context.lookup_anchor.hex()} at slot "
            f"{context.lookup_anchor_slot} is not an ancestor of this block"
        ),
    )


def check_lookup_anchor(context: RefineContext, slot: int, spec: ChainSpec) -> None:
    """x_t >= H_t - L (eq. 11.34). The ancestry check of eq. 11.35 needs the header chain,
    which is not part of the state: the block importer runs `check_lookup_anchor_ancestry`
    when it is given the ancestry."""
    # Verify the lookup anchor is at most L slots old.
    ensure(
        context.lookup_anchor_slot >= slot - spec.max_lookup_anchor_age,
        LookupAnchorNotRecent(f"lookup anchor slot {context.lookup_anchor_slot}"),
    )


def check_new_packages(
    package_hashes: Sequence[bytes],
    known_packages: Collection[bytes],
    reported: Mapping[bytes, bytes],
) -> None:
    """|p| = |I| (eq. 11.32) and no p in recent history, accumulated, ready or pending
    availability (eq. 11.36-11.38; `known_packages` is their union)."""
    seen: set[bytes] = set()
    for package in package_hashes:
        # Verify no two reports are of the same package (eq. 11.32).
        ensure(package not in seen, DuplicatePackage(f"package 0x{package.hex()} twice"))
        seen.add(package)
        # Verify the package is not already in the pipeline (eq. 11.38).
        ensure(
            package not in known_packages and package not in reported,
            DuplicatePackage(f"package 0x{package.hex()} already reported"),
        )


def check_dependencies(
    reports: Sequence[WorkReport],
    incoming: Mapping[bytes, bytes],
    reported: Mapping[bytes, bytes],
) -> None:
    """Prerequisites and segment-root lookups are satisfied (eq. 11.39-11.41): every
    prerequisite is a package of the extrinsic or of recent history, and every lookup
    entry (h -> e) is an entry of the extrinsic's packages or of recent history."""
    for report in reports:
        for prerequisite in report.context.prerequisites:
            # Verify the prerequisite is in the extrinsic or recent history (eq. 11.39).
            ensure(
                prerequisite in incoming or prerequisite in reported,
                DependencyMissing(f"prerequisite 0x{prerequisite.hex()}"),
            )
    for report in reports:
        for package, root in report.segment_root_lookup.items():
            # Verify the lookup entry is a known package's segment root (eq. 11.39, 11.41).
            ensure(
                incoming.get(package) == root or reported.get(package) == root,
                SegmentRootLookupInvalid(f"segment root of package 0x{package.hex()}"),
            )
