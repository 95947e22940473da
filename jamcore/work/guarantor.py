"""What a guarantor computes and signs (graypaper v0.7.2 sections 11.3-11.4 and 14.4).

The pure functions behind guaranteeing a work package, each the counterpart of a rule the
block importer checks (`jamcore.stf.reports`):

* who guarantees which core: G and G* (eq. 11.18-11.22) as the block that will carry the
  guarantee sees them, reusing `jamcore.stf.reports.assignment` with the posterior
  entropy eta'_2, eta'_3 and keys kappa', lambda' (eq. 6.13, 6.23), which do not depend on
  that block's own VRF output and so are known before it is authored;
* the refinement context of a package anchored on a block (eq. 11.4, checked by
  eq. 11.33-11.34);
* the work report Xi(p, c) (eq. 14.12) of a bundle: Psi_I and Psi_R through
  `jamcore.work.refine_pvm.refine_package`, its availability specifier A (eq. 14.17)
  through `jamcore.work.availability`, and the shards that specifier commits to;
* the guarantor's signature over X_G ++ H(E(r)) (eq. 11.26) and the guarantee (r, t, a)
  with its credential sorted by validator index (eq. 11.23, 11.25).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from nacl.signing import SigningKey

from jamcore.crypto.hashing import blake2b_256
from jamcore.errors import JamError
from jamcore.pvm.host import Mode
from jamcore.pvm.invocations.native import Natives
from jamcore.safrole.epochs import is_new_epoch, posterior_history, rotated_validators
from jamcore.spec import ChainSpec
from jamcore.state.state import State
from jamcore.stf.block import root_of, safrole_state
from jamcore.stf.reports.assignment import Assignments, GuarantorAssignment
from jamcore.stf.reports.credentials import (
    MAX_GUARANTORS,
    MIN_GUARANTORS,
    NULL_ED25519,
    guarantee_message,
)
from jamcore.types.services import ServiceAccount
from jamcore.work.availability import (
    ValidatorShard,
    WorkPackageBundle,
    availability,
    encode_bundle,
)
from jamcore.work.guarantee import ReportGuarantee, ValidatorSignature
from jamcore.work.package import WORK_PACKAGE, RefineContext, WorkPackage
from jamcore.work.refine_pvm import RefinedPackage, refine_package
from jamcore.work.report import WORK_REPORT, WorkPackageSpec, WorkReport

__all__ = [
    "ComputedReport",
    "GuaranteeError",
    "block_assignments",
    "compute_report",
    "core_assignments",
    "guarantor_assignment",
    "guarantors_of",
    "make_guarantee",
    "package_authorizer",
    "package_hash",
    "refine_context",
    "report_hash",
    "sign_report",
    "work_report",
]


class GuaranteeError(JamError):
    """A credential a guarantor could not put in a valid guarantee (eq. 11.23, 11.25)."""

    code = "guarantee"


# -- assignments (eq. 11.18-11.22) --------------------------------------------------------


def block_assignments(parent: State, slot: int, spec: ChainSpec) -> Assignments:
    """G and G* (eq. 11.21-11.22) as a block at `slot` on top of `parent` sees them.

    The importer builds them from eta'_2, eta'_3, kappa' and lambda' (`import_block` passes
    the posterior Safrole state to the reports section). On an epoch change
    (eq. 6.13, 6.23) eta'_2 = eta_1, eta'_3 = eta_2, kappa' = gamma_k and lambda' = kappa;
    otherwise they are the prior ones. The offenders are psi_O of `parent` (a block that
    itself judges new offenders nulls their keys as well, eq. 6.14)."""
    if slot < parent.slot:
        raise ValueError(f"block slot {slot} is before its parent's slot {parent.slot}")
    new_epoch = is_new_epoch(parent.slot, slot, spec)
    offenders = parent.disputes.offenders
    eta1, eta2, eta3 = posterior_history(parent.entropy, new_epoch)
    _, kappa, lambda_ = rotated_validators(safrole_state(parent), new_epoch, offenders)
    entropy = (parent.entropy[0], eta1, eta2, eta3)  # eta'_0 is not used by G or G*
    return Assignments(slot, entropy, kappa, lambda_, offenders, spec)


def guarantor_assignment(
    parent: State, slot: int, spec: ChainSpec, guarantee_slot: int | None = None
) -> GuarantorAssignment:
    """The assignment (c, k) a guarantee of slot `guarantee_slot` (default `slot`) is
    checked against in a block at `slot` on `parent`: G when the guarantee's slot is in
    the block's rotation, else G* (eq. 11.26)."""
    return block_assignments(parent, slot, spec).for_guarantee(
        slot if guarantee_slot is None else guarantee_slot
    )


def core_assignments(
    parent: State, slot: int, spec: ChainSpec, guarantee_slot: int | None = None
) -> tuple[int, ...]:
    """The core of each validator index: c of `guarantor_assignment` (eq. 11.20-11.22),
    P(eta'_2, t) = R(F([floor(C i / V) | i <- N_V], eta'_2), floor((t mod E) / R))."""
    return guarantor_assignment(parent, slot, spec, guarantee_slot).cores


def guarantors_of(
    core: int,
    parent: State,
    slot: int,
    spec: ChainSpec,
    guarantee_slot: int | None = None,
) -> tuple[int, ...]:
    """The validator indices that may sign a guarantee for `core` (eq. 11.26): assigned
    to it and not offenders (whose keys Phi nulled, eq. 6.14), ascending."""
    assignment = guarantor_assignment(parent, slot, spec, guarantee_slot)
    return tuple(
        index
        for index, assigned in enumerate(assignment.cores)
        if assigned == core and assignment.keys[index].ed25519 != NULL_ED25519
    )


# -- the report (eq. 11.2, 11.4, 14.12, 14.17) ------------------------------------------


def package_hash(package: WorkPackage) -> bytes:
    """H(E(p)): the hash a report's specifier and the refine calls name a package by."""
    return blake2b_256(WORK_PACKAGE.encode(package))


def package_authorizer(package: WorkPackage) -> bytes:
    """p_a = H(p_u ++ p_f) (section 14.3): the authorizer hash of the package, which its
    report carries as r_a and which must be in the core's pool alpha[c] (eq. 11.29)."""
    return blake2b_256(package.auth_code_hash + package.authorizer_config)


def refine_context(
    anchor: State,
    spec: ChainSpec,
    *,
    lookup_anchor: State | None = None,
    prerequisites: Sequence[bytes] = (),
) -> RefineContext:
    """x (eq. 11.4) for a package anchored on the block whose posterior state is `anchor`:
    x_a its header hash and x_b its accumulation super-peak (its own beta_H entry, the
    last, eq. 7.8), x_s = M_sigma(anchor) (the root the next block fills in, eq. 7.5), so
    that eq. 11.33 holds while the anchor is in the recent history (H blocks); the lookup
    anchor (x_l, x_t) is `lookup_anchor` (default the anchor itself), which must stay
    within L slots of the carrying block (eq. 11.34-11.35)."""
    entry = anchor.recent_blocks.history[-1]
    lookup = anchor if lookup_anchor is None else lookup_anchor
    return RefineContext(
        anchor=entry.header_hash,
        state_root=root_of(anchor, spec),
        beefy_root=entry.beefy_root,
        lookup_anchor=lookup.recent_blocks.history[-1].header_hash,
        lookup_anchor_slot=lookup.slot,
        prerequisites=tuple(prerequisites),
    )


def work_report(
    package: WorkPackage,
    core: int,
    refined: RefinedPackage,
    package_spec: WorkPackageSpec,
    segment_root_lookup: Mapping[bytes, bytes] | None = None,
) -> WorkReport:
    """r = (s, x = p_c, c, a = p_a, t, l, d, g) (eq. 11.2, 14.12): the specifier s, the
    package's context, the core, the authorizer hash, the authorizer trace t and gas g
    (Psi_I), the segment-root lookup l of imports named by package hash (none here:
    `ImportSpec` holds segment roots only) and the digests d (eq. 14.11)."""
    return WorkReport(
        package_spec=package_spec,
        context=package.context,
        core_index=core,
        authorizer_hash=package_authorizer(package),
        auth_gas_used=refined.auth_gas_used,
        auth_output=refined.auth_trace,
        segment_root_lookup=dict(segment_root_lookup or {}),
        results=refined.results,
    )


@dataclass(frozen=True)
class ComputedReport:
    """Xi(p, c) with what a guarantor distributes: the report, E(bundle) and every
    validator's shard of it and of the exports (eq. 14.12, 14.16-14.17)."""

    report: WorkReport
    bundle: bytes
    shards: tuple[ValidatorShard, ...]
    exports: tuple[bytes, ...]


def _per_item(flat: Sequence[bytes], counts: Iterable[int]) -> list[list[bytes]]:
    """Split a bundle's flattened blobs back into one sequence per work item."""
    out, at = [], 0
    for count in counts:
        out.append(list(flat[at : at + count]))
        at += count
    return out


def compute_report(
    bundle: WorkPackageBundle,
    core: int,
    accounts: Mapping[int, ServiceAccount],
    spec: ChainSpec,
    *,
    natives: Natives | None = None,
    mode: Mode = "fast",
) -> ComputedReport:
    """Xi(p, c) (eq. 14.12) of the bundle's package on `core`: Psi_I then Psi_R per item
    (`refine_package`, with `natives` for native services) over the bundle's imports and
    extrinsics, then s = A(H(p), E(bundle), e) (eq. 14.17) over the concatenated exports
    e. The caller has checked the imports' justifications (`verify_imports`, eq. 14.15).
    Raises `NotAuthorized` when Xi(p, c) = nabla, an `AvailabilityError` for a bundle or
    exports data availability refuses."""
    package = bundle.package
    encoded = encode_bundle(bundle)
    imports = _per_item(bundle.imports, (len(item.import_segments) for item in package.items))
    extrinsics = _per_item(bundle.extrinsics, (len(item.extrinsic) for item in package.items))
    refined = refine_package(
        package, core, accounts, imports, extrinsics, spec, mode=mode, natives=natives
    )
    exports = tuple(segment for item in refined.exports for segment in item)
    package_spec, shards = availability(package_hash(package), encoded, exports, spec)
    report = work_report(package, core, refined, package_spec)
    return ComputedReport(report, encoded, tuple(shards), exports)


# -- signatures and the guarantee (eq. 11.23-11.26) --------------------------------------


def report_hash(report: WorkReport) -> bytes:
    """H(E(r)): the hash of a report (eq. 11.26, C.27)."""
    return blake2b_256(WORK_REPORT.encode(report))


def sign_report(
    report: WorkReport, validator_index: int, signing_key: SigningKey
) -> ValidatorSignature:
    """(v, s) with s = E_k<X_G ++ H(E(r))> (eq. 11.26): validator `validator_index`'s
    credential entry for `report`, signed with its ed25519 key."""
    message = guarantee_message(report_hash(report))
    return ValidatorSignature(validator_index, signing_key.sign(message).signature)


def make_guarantee(
    report: WorkReport, slot: int, signatures: Iterable[ValidatorSignature]
) -> ReportGuarantee:
    """(r, t, a) (eq. 11.23): the credential a of two or three signatures sorted by
    validator index, strictly ascending (eq. 11.25). `slot` is t, the slot whose rotation
    assigns the signers (eq. 11.26): a block at tau' accepts it when
    R(floor(tau'/R) - 1) <= t <= tau'. GuaranteeError for too few, too many or repeated
    signers (the importer would refuse them)."""
    credential = tuple(sorted(signatures, key=lambda entry: entry.validator_index))
    if not MIN_GUARANTORS <= len(credential) <= MAX_GUARANTORS:
        raise GuaranteeError(
            f"a guarantee holds {MIN_GUARANTORS} to {MAX_GUARANTORS} signatures, "
            f"not {len(credential)}"
        )
    indices = [entry.validator_index for entry in credential]
    if len(set(indices)) != len(indices):
        raise GuaranteeError(f"repeated guarantors in {indices}")
    return ReportGuarantee(report, slot, credential)
