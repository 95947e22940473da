"""How application data rides in JAM blocks: work reports guaranteed by the block author.

The chain's native services (the shielded pool, finality) receive their work the JAM way:
a guarantor refines a work item and puts the work report, signed, in the block's
guarantees extrinsic (graypaper section 11.4). On a devnet the block author is the
guarantor of every report in its block: it signs X_G ++ H(E(report)) with its ed25519 key
(eq. 11.26), and importers check that signature against the author's key before any
result is accumulated. Each service owns one core (core index = its position in
`CORE_OF_SERVICE`), so a block carries at most one report per service, within the C cores.
"""

from __future__ import annotations

from collections.abc import Sequence

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from jamcore.block import Block, DisputesExtrinsic, Extrinsic
from jamcore.codec import Variant
from jamcore.crypto.hashing import blake2b_256
from jamcore.work.guarantee import ReportGuarantee, ValidatorSignature
from jamcore.work.package import RefineContext
from jamcore.work.report import (
    WORK_REPORT,
    RefineLoad,
    WorkPackageSpec,
    WorkReport,
    WorkResult,
)

GUARANTEE_CONTEXT = b"jam_guarantee"
"""X_G: the context of a guarantor's signature (graypaper eq. 11.26)."""

POOL_SERVICE_ID = 1
FINALITY_SERVICE_ID = 2
CORE_OF_SERVICE = {POOL_SERVICE_ID: 0, FINALITY_SERVICE_ID: 1}
SERVICE_CODE_HASH = {
    POOL_SERVICE_ID: blake2b_256(b"jam-shielded/native/pool/v1"),
    FINALITY_SERVICE_ID: blake2b_256(b"jam-shielded/native/finality/v1"),
}
ACCUMULATE_GAS = 10_000_000


class GuaranteeError(Exception):
    """A guarantee that is malformed, misplaced or not signed by the block author."""


def guarantee_message(report: WorkReport) -> bytes:
    """X_G ++ H(E(report)): what a guarantor signs (eq. 11.26)."""
    return GUARANTEE_CONTEXT + blake2b_256(WORK_REPORT.encode(report))


def build_guarantee(
    service_id: int,
    outputs: Sequence[bytes],
    context: RefineContext,
    slot: int,
    guarantor_index: int,
    signing_key: SigningKey,
) -> ReportGuarantee:
    """A signed report carrying one refined work item per output for `service_id`."""
    if service_id not in CORE_OF_SERVICE:
        raise GuaranteeError(f"service {service_id} has no core")
    if not 1 <= len(outputs) <= 16:
        raise GuaranteeError(f"a report carries 1..16 results, not {len(outputs)}")
    code_hash = SERVICE_CODE_HASH[service_id]
    results = tuple(
        WorkResult(
            service_id=service_id,
            code_hash=code_hash,
            payload_hash=blake2b_256(output),
            accumulate_gas=ACCUMULATE_GAS,
            result=Variant("ok", output),
            refine_load=RefineLoad(0, 0, 0, 0, 0),
        )
        for output in outputs
    )
    package_hash = blake2b_256(b"".join(r.payload_hash for r in results))
    report = WorkReport(
        package_spec=WorkPackageSpec(
            package_hash, sum(len(o) for o in outputs), bytes(32), bytes(32), 0
        ),
        context=context,
        core_index=CORE_OF_SERVICE[service_id],
        authorizer_hash=bytes(32),
        auth_gas_used=0,
        auth_output=b"",
        segment_root_lookup={},
        results=results,
    )
    signature = signing_key.sign(guarantee_message(report)).signature
    return ReportGuarantee(report, slot, (ValidatorSignature(guarantor_index, signature),))


def guarantees_extrinsic(guarantees: Sequence[ReportGuarantee]) -> Extrinsic:
    """A block body carrying these guarantees and nothing else."""
    return Extrinsic((), (), tuple(guarantees), (), DisputesExtrinsic((), (), ()))


def service_outputs(
    block: Block, service_id: int, validator_keys: Sequence[bytes]
) -> list[bytes]:
    """The refined outputs for `service_id` in `block`, after checking the report's core,
    slot, results and the guarantee signature of the block's author, whose ed25519 key is
    `validator_keys[author_index]` (eq. 11.23-11.26)."""
    header = block.header
    if not 0 <= header.author_index < len(validator_keys):
        raise GuaranteeError(f"author index {header.author_index} is not a validator")
    author_index, author_key, slot = (
        header.author_index,
        validator_keys[header.author_index],
        header.slot,
    )
    guarantees = block.extrinsic.guarantees
    core = CORE_OF_SERVICE[service_id]
    matching = [g for g in guarantees if g.report.core_index == core]
    cores = [g.report.core_index for g in guarantees]
    if len(cores) != len(set(cores)):
        raise GuaranteeError("two guarantees for one core")
    if not matching:
        return []
    guarantee = matching[0]
    if guarantee.slot != slot:
        raise GuaranteeError(f"guarantee slot {guarantee.slot} is not the block slot {slot}")
    if [s.validator_index for s in guarantee.signatures] != [author_index]:
        raise GuaranteeError("a devnet report is guaranteed by the block author alone")
    try:
        VerifyKey(author_key).verify(
            guarantee_message(guarantee.report), guarantee.signatures[0].signature
        )
    except (BadSignatureError, ValueError) as error:
        raise GuaranteeError("guarantee signature does not verify") from error
    outputs = []
    for result in guarantee.report.results:
        if result.service_id != service_id or result.code_hash != SERVICE_CODE_HASH[service_id]:
            raise GuaranteeError(f"core {core} carries a result for another service")
        if result.result.tag != "ok":
            continue  # a failed refinement has nothing to accumulate
        if blake2b_256(result.result.value) != result.payload_hash:
            raise GuaranteeError("result output does not match its payload hash")
        outputs.append(result.result.value)
    return outputs
