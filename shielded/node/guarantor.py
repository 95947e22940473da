"""A devnet validator as guarantor (graypaper v0.7.2 sections 11.2-11.4, 14.4), no networking.

`Guarantor(index, signing_key, config, natives)` takes a work-package bundle submitted for a
core, the posterior state of the package's anchor block, and the slot t the guarantee is
for, and:

1. checks it is assigned to the core for t (G / G*, eq. 11.21-11.22, 11.26) as the block
   carrying the guarantee will see it (from the state that block builds on);
2. checks the package's context names the anchor (eq. 11.33), its lookup anchor is within
   L slots of t (eq. 11.34), its authorizer is in the core's pool (eq. 11.29) and the
   bundle's imports are justified (eq. 14.15);
3. refines it itself (Xi, eq. 14.12: Psi_I, then Psi_R per item with the native services),
   computes the availability specifier and every validator's shard (eq. 14.17, H.5);
4. signs X_G ++ H(E(r)) (eq. 11.26).

Each assigned validator does this independently; the reports of honest guarantors are
equal because refinement is deterministic, so `assemble_guarantee` can join two or three
of their signatures into one guarantee (eq. 11.23-11.25) for the block author. The shards
go to every validator (ShardStore), whose assurances (`assurance`) make the report
available once more than two thirds of them hold theirs (eq. 11.15-11.16).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from nacl.signing import SigningKey

from jamcore.crypto import ed25519
from jamcore.pvm.invocations.native import Natives
from jamcore.state.state import State
from jamcore.stf.block import root_of
from jamcore.stf.reports.credentials import MAX_GUARANTORS, NULL_ED25519, guarantee_message
from jamcore.work.availability import ValidatorShard, WorkPackageBundle, verify_imports
from jamcore.work.guarantee import AvailAssurance, ReportGuarantee, ValidatorSignature
from jamcore.work.guarantor import (
    GuaranteeError,
    compute_report,
    guarantor_assignment,
    make_guarantee,
    package_authorizer,
    report_hash,
    sign_report,
)
from jamcore.work.report import WorkReport
from shielded.node.genesis import GenesisConfig
from shielded.node.shards import ShardStore, make_assurance

__all__ = [
    "GuaranteedWork",
    "Guarantor",
    "GuarantorError",
    "NotAssigned",
    "assemble_guarantee",
    "assurance",
    "pending_erasure_roots",
]


class GuarantorError(ValueError):
    """A package this validator will not guarantee, or signatures that do not combine."""


class NotAssigned(GuarantorError):
    """This validator is not assigned to the package's core for the guarantee's slot."""


@dataclass(frozen=True)
class GuaranteedWork:
    """One guarantor's result for a package: its report, the slot t it signed for, its
    credential entry, E(bundle) and every validator's shard (by validator index)."""

    report: WorkReport
    slot: int
    signature: ValidatorSignature
    bundle: bytes
    shards: tuple[ValidatorShard, ...]

    @property
    def core(self) -> int:
        return self.report.core_index

    @property
    def erasure_root(self) -> bytes:
        return self.report.package_spec.erasure_root


class Guarantor:
    """Validator `index` guaranteeing work packages with its ed25519 key."""

    def __init__(
        self,
        index: int,
        signing_key: SigningKey,
        config: GenesisConfig,
        natives: Natives | None = None,
    ) -> None:
        self.spec = config.chain_spec()
        if not 0 <= index < self.spec.validators_count:
            raise GuarantorError(f"validator index {index} out of range")
        self.index = index
        self.signing_key = signing_key
        self.natives = dict(natives or {})

    def assigned_core(self, head: State, slot: int) -> int | None:
        """The core this validator guarantees for slot `slot` in a block built on `head`
        (eq. 11.20-11.22), or None when it is an offender (its key nulled, eq. 6.14)."""
        assignment = guarantor_assignment(head, slot, self.spec)
        if assignment.keys[self.index].ed25519 == NULL_ED25519:
            return None
        return assignment.cores[self.index]

    def is_assigned(self, core: int, head: State, slot: int) -> bool:
        """Whether this validator may sign a guarantee of slot `slot` for `core`."""
        return self.assigned_core(head, slot) == core

    def _check_package(
        self,
        bundle: WorkPackageBundle,
        core: int,
        anchor: State,
        head: State,
        slot: int,
        anchor_root: bytes | None,
    ) -> None:
        """The checks the importer would make of the package's report (eq. 11.29,
        11.33-11.34) and of its imports (eq. 14.15), before refining it."""
        context = bundle.package.context
        history = anchor.recent_blocks.history
        entry = next((e for e in reversed(history) if e.header_hash == context.anchor), None)
        # Verify the context names a recent block, its state and its super-peak (eq. 11.33):
        # `anchor` itself (the last entry of its beta_H, whose state root is M_sigma(anchor))
        # or an earlier recent block (its entry holds its posterior state root, eq. 7.5).
        if entry is None or entry.beefy_root != context.beefy_root:
            raise GuarantorError("the package's context does not name a recent block")
        if entry is history[-1]:
            root = root_of(anchor, self.spec) if anchor_root is None else anchor_root
        else:
            root = entry.state_root
        if context.state_root != root:
            raise GuarantorError("the package's context has not the anchor's state root")
        # Verify the lookup anchor is recent enough for a block at `slot` (eq. 11.34).
        if not slot - self.spec.max_lookup_anchor_age <= context.lookup_anchor_slot <= slot:
            raise GuarantorError(f"lookup anchor slot {context.lookup_anchor_slot} too old")
        # Verify the core's pool holds the package's authorizer (eq. 11.29).
        if package_authorizer(bundle.package) not in head.auth_pools[core]:
            raise GuarantorError(f"the package's authorizer is not in core {core}'s pool")
        # Verify every imported segment against its segment root (eq. 14.15).
        if not verify_imports(bundle):
            raise GuarantorError("an imported segment does not match its justification")

    def guarantee(
        self,
        bundle: WorkPackageBundle,
        core: int,
        anchor: State,
        slot: int,
        head: State | None = None,
        anchor_root: bytes | None = None,
    ) -> GuaranteedWork:
        """Refine `bundle` on `core` and sign its report for guarantee slot `slot`.

        `anchor` is the posterior state of the package's anchor block (its accounts are
        the ones refinement reads); `head` is the state the carrying block builds on
        (default `anchor`), which fixes the assignment and the pool checked;
        `anchor_root` is M_sigma of `anchor` when the caller keeps it (a node's state trie),
        else it is merklized here. Raises
        NotAssigned, GuarantorError for a package the block would refuse, or jamcore's
        `NotAuthorized` / `AvailabilityError` from refinement and erasure coding."""
        head = anchor if head is None else head
        if not 0 <= core < self.spec.cores_count:
            raise GuarantorError(f"core {core} out of range")
        if not self.is_assigned(core, head, slot):
            raise NotAssigned(f"validator {self.index} is not assigned to core {core}")
        self._check_package(bundle, core, anchor, head, slot, anchor_root)
        computed = compute_report(bundle, core, anchor.services, self.spec, natives=self.natives)
        signature = sign_report(computed.report, self.index, self.signing_key)
        return GuaranteedWork(computed.report, slot, signature, computed.bundle, computed.shards)


def assemble_guarantee(
    works: Iterable[GuaranteedWork], keys: Sequence[bytes] | None = None
) -> ReportGuarantee:
    """One guarantee (eq. 11.23-11.25) from independent guarantors' results: they must
    agree on the report and slot; the first three distinct signers (by index) sign it.
    With `keys` (ed25519 key by validator index, e.g. of kappa) each signature is
    verified first (eq. 11.26). GuarantorError when they disagree or are fewer than two."""
    chosen: dict[int, ValidatorSignature] = {}
    report: WorkReport | None = None
    slot: int | None = None
    for work in works:
        if report is None:
            report, slot = work.report, work.slot
        elif work.report != report or work.slot != slot:
            raise GuarantorError(f"validator {work.signature.validator_index} reports differently")
        chosen.setdefault(work.signature.validator_index, work.signature)
    if report is None or slot is None:
        raise GuarantorError("no guarantor results to assemble")
    message = guarantee_message(report_hash(report))
    for index, entry in chosen.items():
        # Verify each signature under its signer's key before the block carries it.
        if keys is not None and not (
            index < len(keys) and ed25519.verify(keys[index], message, entry.signature)
        ):
            raise GuarantorError(f"signature of validator {index} does not verify")
    signers = sorted(chosen)[:MAX_GUARANTORS]
    try:
        return make_guarantee(report, slot, (chosen[index] for index in signers))
    except GuaranteeError as error:
        raise GuarantorError(str(error)) from error


def pending_erasure_roots(state: State) -> list[bytes | None]:
    """Per core, the erasure root of the report pending availability in rho (eq. 11.1),
    or None: what `ShardStore.held_cores` takes."""
    return [
        None if pending is None else pending.report.package_spec.erasure_root
        for pending in state.availability
    ]


def assurance(
    state: State,
    parent: bytes,
    store: ShardStore,
    index: int,
    signing_key: SigningKey,
) -> AvailAssurance | None:
    """Validator `index`'s assurance for the block after `parent` (whose posterior state
    is `state`): a bit for each core whose pending report's shard `store` holds
    (eq. 11.10-11.15), or None when it holds none."""
    cores = store.held_cores(pending_erasure_roots(state), index)
    if not cores:
        return None
    return make_assurance(parent, cores, index, signing_key, store.spec)
