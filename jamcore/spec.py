"""Protocol constants: the chain specifications `tiny` and `full`, and the signing contexts.

`ChainSpec` holds every constant of graypaper v0.7.2 Appendix I.4.4 that the importer uses
(those of the PVM, Z_A, Z_I, Z_P and Z_Z, live in `jamcore.pvm`; the audit constants A and
F are not used). `FULL` is the graypaper's configuration; `TINY` is the reduced one of the
w3f test vectors and devnets, which changes V, C, D, E, K, N, R, Y, G_T, G_R and the
erasure-coding split W_E * W_P of a segment (docs.jamcha.in chain-spec `tiny`) and keeps
every other constant as in the graypaper. The signing contexts X of Appendix I.4.5 are
spec-independent module constants.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- Signing contexts (Appendix I.4.5) ----------------------------------------------------

AVAILABLE_CONTEXT = b"jam_available"
"""X_A: Ed25519 availability assurances (eq. 11.13)."""
BEEFY_CONTEXT = b"jam_beefy"
"""X_B: the BLS commitment to the accumulate-result-root MMR (BEEFY distribution)."""
ENTROPY_CONTEXT = b"jam_entropy"
"""X_E: the entropy-source VRF signature H_v (eq. 6.17)."""
FALLBACK_SEAL_CONTEXT = b"jam_fallback_seal"
"""X_F: Bandersnatch block seals in fallback mode (eq. 6.16)."""
GUARANTEE_CONTEXT = b"jam_guarantee"
"""X_G: Ed25519 guarantee statements (eq. 11.26), also judged by culprits (eq. 10.5)."""
ANNOUNCE_CONTEXT = b"jam_announce"
"""X_I: Ed25519 audit announcements (auditing)."""
TICKET_SEAL_CONTEXT = b"jam_ticket_seal"
"""X_T: ticket generation and ticketed block seals (eq. 6.15, 6.29)."""
AUDIT_CONTEXT = b"jam_audit"
"""X_U: Bandersnatch audit-selection entropy (auditing)."""
VALID_CONTEXT = b"jam_valid"
"""X_top: Ed25519 judgements that a work-report is valid (eq. 10.4)."""
INVALID_CONTEXT = b"jam_invalid"
"""X_bot: Ed25519 judgements that a work-report is invalid (eq. 10.4)."""


@dataclass(frozen=True)
class ChainSpec:
    """Protocol constants of one chain configuration (graypaper Appendix I.4.4). The
    fields with defaults hold the graypaper's values, which both configurations use."""

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
    """W_P: erasure-coded pieces per segment."""
    slot_duration: int
    """P: seconds per slot."""
    preimage_expunge_period: int
    """D: slots before an unrequested preimage may be expunged."""
    max_block_gas: int
    """G_T: gas for all accumulation in one block."""
    max_refine_gas: int
    """G_R: gas for refining one work package."""

    segment_size: int = 4104
    """W_G = W_E * W_P: octets in an exported segment (4104 in both specs)."""
    report_accumulate_gas: int = 10_000_000
    """G_A: the most accumulation gas of one work-report (eq. 11.30)."""
    package_auth_gas: int = 50_000_000
    """G_I: gas for the Is-Authorized invocation of one work-package."""
    item_deposit: int = 10
    """B_I: the minimum balance each item of service state requires (eq. 9.8)."""
    byte_deposit: int = 1
    """B_L: the minimum balance each octet of service state requires (eq. 9.8)."""
    base_deposit: int = 100
    """B_S: the minimum balance every service requires (eq. 9.8)."""
    recent_history_size: int = 8
    """H: blocks kept in the recent history beta_H (eq. 7.8)."""
    max_work_items: int = 16
    """I: the most work-items of a package, hence digests of a report (eq. 11.2)."""
    max_report_dependencies: int = 8
    """J: the most prerequisites plus segment-root lookups of a work-report (eq. 11.3)."""
    max_lookup_anchor_age: int = 14_400
    """L: the oldest a report's lookup anchor may be, in slots (eq. 11.34)."""
    auth_pool_size: int = 8
    """O: the most authorizers in one core's pool alpha[c] (eq. 8.1)."""
    auth_queue_size: int = 80
    """Q: the authorizers in one core's queue phi[c] (eq. 8.1)."""
    min_public_service_index: int = 2**16
    """S: the least public service index; those below are created by the registrar only."""
    max_package_extrinsics: int = 128
    """T: the most extrinsics of a work-package (section 14)."""
    assurance_timeout_period: int = 5
    """U: slots after which a reported but unavailable report may be replaced (eq. 11.17)."""
    max_authorizer_code_size: int = 64_000
    """W_A: the most octets of Is-Authorized code."""
    max_bundle_size: int = 13_791_360
    """W_B: the most octets of a work-package's blobs, extrinsics and imports (section 14)."""
    max_service_code_size: int = 4_000_000
    """W_C: the most octets of service code."""
    max_package_imports: int = 3_072
    """W_M: the most imported segments of a work-package (section 14)."""
    max_report_variable_size: int = 48 * 2**10
    """W_R: the most octets of a report's authorizer trace and outputs together (eq. 11.8)."""
    transfer_memo_size: int = 128
    """W_T: octets in a deferred transfer's memo (section 12)."""
    max_package_exports: int = 3_072
    """W_X: the most exported segments of a work-package (section 14)."""

    @property
    def ec_piece_size(self) -> int:
        """W_E = W_G / W_P: octets in an erasure-coded piece (684 for full, 4 for tiny)."""
        return self.segment_size // self.ec_pieces_per_segment

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
        """Data shards of the Reed-Solomon code: W_E/2 (342 for full, 2 for tiny); the code
        has rate ec_data_shards : validators_count."""
        return self.ec_piece_size // 2


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
    # L for tiny is what the JAM conformance fuzzer's chain spec uses (24 slots, two
    # epochs); a service reading the protocol constants through `fetch` sees it.
    max_lookup_anchor_age=24,
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
