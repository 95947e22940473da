"""Validator activity statistics pi_V, pi_L (graypaper v0.7.2 section 13.1, eq. 13.1-13.5).

pi_V accumulates each validator's counts over the present epoch and pi_L keeps the
completed previous epoch's. At an epoch change the accumulator moves into pi_L and starts
again from zero (eq. 13.4); then the block's author is credited with the block, its tickets
and its preimages, every validator whose key is among the reporters G (eq. 11.26) with a
guarantee, and every assurer with an assurance (eq. 13.5).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace

from jamcore.block import Extrinsic
from jamcore.spec import ChainSpec
from jamcore.types.statistics import ValidatorActivityRecord
from jamcore.types.validators import ValidatorKey
from jamcore.work.guarantee import ReportGuarantee

ValidatorsStatistics = tuple[ValidatorActivityRecord, ...]


def rotate_epoch(
    vals_curr: ValidatorsStatistics,
    vals_last: ValidatorsStatistics,
    prior_slot: int,
    slot: int,
    spec: ChainSpec,
) -> tuple[ValidatorsStatistics, ValidatorsStatistics]:
    """(a, pi_L') (eq. 13.3-13.4): with e = floor(tau / E) and e' = floor(tau' / E), keep
    (pi_V, pi_L) within an epoch; at a new epoch start a zeroed accumulator and move pi_V
    into pi_L'."""
    if slot // spec.epoch_length == prior_slot // spec.epoch_length:
        return vals_curr, vals_last
    return (ValidatorActivityRecord.zero(),) * spec.validators_count, vals_curr


def reporter_keys(
    guarantees: Sequence[ReportGuarantee], validators: Sequence[ValidatorKey]
) -> frozenset[bytes]:
    """The Ed25519 keys of the guarantors who signed `guarantees`, each signer's key looked
    up in `validators`.

    This is the reporters set G of eq. 11.26 when every guarantee was signed under the
    current rotation, whose guarantor keys are kappa' (eq. 11.19); the block importer passes
    the reports STF's G instead, which also resolves previous-rotation guarantees through
    M* (eq. 11.20). The statistics vector class provides only kappa'."""
    keys: set[bytes] = set()
    for guarantee in guarantees:
        for credential in guarantee.signatures:
            if credential.validator_index < len(validators):
                keys.add(validators[credential.validator_index].ed25519)
    return frozenset(keys)


def validator_statistics(
    vals_curr: ValidatorsStatistics,
    vals_last: ValidatorsStatistics,
    prior_slot: int,
    slot: int,
    author_index: int,
    extrinsic: Extrinsic,
    reporters: Collection[bytes],
    validators: Sequence[ValidatorKey],
    spec: ChainSpec,
) -> tuple[ValidatorsStatistics, ValidatorsStatistics]:
    """(pi_V', pi_L') (eq. 13.3-13.5).

    `prior_slot` is tau and `slot` tau' = H_t; `author_index` is H_i; `reporters` is the
    reporters set G of Ed25519 keys (eq. 11.26); `validators` is kappa', the posterior
    active set. For each v: b += (v = H_i); t, p, d += |E_T|, |E_P|, sum |d| for the author
    only; g += (kappa'_v in G); a += (exists a in E_A : a_v = v).
    """
    accumulator, vals_last_post = rotate_epoch(vals_curr, vals_last, prior_slot, slot, spec)
    records = list(accumulator)

    # Guarantees: one per validator whose key is among the reporters (kappa'_v in G).
    if reporters:
        for index, key in enumerate(validators[: len(records)]):
            if key.ed25519 in reporters:
                record = records[index]
                records[index] = replace(record, guarantees=record.guarantees + 1)

    # Assurances: one per validator that made an assurance in E_A.
    for assurer in {assurance.validator_index for assurance in extrinsic.assurances}:
        if assurer < len(records):
            record = records[assurer]
            records[assurer] = replace(record, assurances=record.assurances + 1)

    # The author: the block, its tickets and its preimages (count and octets).
    if author_index < len(records):
        record = records[author_index]
        records[author_index] = replace(
            record,
            blocks=record.blocks + 1,
            tickets=record.tickets + len(extrinsic.tickets),
            pre_images=record.pre_images + len(extrinsic.preimages),
            pre_images_size=record.pre_images_size
            + sum(len(preimage.blob) for preimage in extrinsic.preimages),
        )
    return tuple(records), vals_last_post
