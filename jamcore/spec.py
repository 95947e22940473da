"""Chain specifications: the protocol constants that differ between `tiny` and `full`.

`full` follows the graypaper (v0.7.0, Appendix I.4.4 constants); `tiny` is the reduced
configuration used by the w3f test vectors and by devnets.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChainSpec:
    """Protocol constants of one chain configuration (graypaper Appendix I.4.4)."""

    name: str
    validators_count: int
    """V: number of validators."""
    cores_count: int
    """C: number of cores."""
    epoch_length: int
    """E: slots per epoch."""
    contest_duration: int
    """Y: slots after an epoch's start during which tickets may be submitted."""
    tickets_per_validator: int
    """N: ticket entries (attempts) per validator."""
    max_tickets_per_extrinsic: int
    """K: most tickets in one block's extrinsic."""
    rotation_period: int
    """R: slots between guarantor core rotations."""
    ec_pieces_per_segment: int
    """W_P: erasure-coded pieces per 4104-byte segment."""
    slot_duration: int
    """P: seconds per slot."""
    preimage_expunge_period: int
    """D: slots before an unrequested preimage may be expunged."""
    max_block_gas: int
    """G_T: gas for all accumulation in one block."""
    max_refine_gas: int
    """G_R: gas for refining one work package."""

    @property
    def validators_super_majority(self) -> int:
        """floor(2V/3) + 1: the size of a super-majority of validators."""
        return 2 * self.validators_count // 3 + 1

    @property
    def avail_bitfield_bytes(self) -> int:
        """ceil(C/8): bytes in an availability assurance bitfield."""
        return (self.cores_count + 7) // 8

    @property
    def ec_data_shards(self) -> int:
        """Data shards of the Reed-Solomon code: W_E/2 = 4104 / (2 W_P) (342 for full,
        2 for tiny); the code has rate ec_data_shards : validators_count."""
        return 4104 // (2 * self.ec_pieces_per_segment)


TINY = ChainSpec(
    name="tiny",
    validators_count=6,
    cores_count=2,
    epoch_length=12,
    contest_duration=10,
    tickets_per_validator=3,
    max_tickets_per_extrinsic=3,
    rotation_period=4,
    ec_pieces_per_segment=1026,
    slot_duration=6,
    preimage_expunge_period=32,
    max_block_gas=20_000_000,
    max_refine_gas=1_000_000_000,
)

FULL = ChainSpec(
    name="full",
    validators_count=1023,
    cores_count=341,
    epoch_length=600,
    contest_duration=500,
    tickets_per_validator=2,
    max_tickets_per_extrinsic=16,
    rotation_period=10,
    ec_pieces_per_segment=6,
    slot_duration=6,
    preimage_expunge_period=19_200,
    max_block_gas=3_500_000_000,
    max_refine_gas=5_000_000_000,
)

SPECS: dict[str, ChainSpec] = {spec.name: spec for spec in (TINY, FULL)}
