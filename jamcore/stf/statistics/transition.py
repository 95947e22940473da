"""The statistics transition pi -> pi' (graypaper v0.7.2 section 13, eq. 13.1-13.16).

`transition` is the w3f `stf/statistics` class: the validator statistics alone, from the
prior slot, kappa' and the block's slot, author and extrinsic. `block_statistics` is what
the block importer calls: all four components of pi', given the intermediate values other
sections compute (the reporters G, the incoming reports I, the newly available reports W
and the accumulation statistics S).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cache

from jamcore.block import Extrinsic, block_codecs
from jamcore.codec import U16, U32, Struct
from jamcore.spec import ChainSpec
from jamcore.stf.statistics.cores import core_statistics
from jamcore.stf.statistics.services import AccumulationStatistics, service_statistics
from jamcore.stf.statistics.validators import (
    ValidatorsStatistics,
    reporter_keys,
    validator_statistics,
)
from jamcore.types.statistics import Statistics, validators_statistics_codec
from jamcore.types.validators import ValidatorKey, validators_codec
from jamcore.work.report import WorkReport


@dataclass(frozen=True)
class StatisticsState:
    """The w3f `stf/statistics` state: pi_V, pi_L, tau and kappa'."""

    vals_curr_stats: ValidatorsStatistics
    vals_last_stats: ValidatorsStatistics
    slot: int
    curr_validators: tuple[ValidatorKey, ...]


@dataclass(frozen=True)
class StatisticsInput:
    """The w3f `stf/statistics` input: H_t, H_i and the extrinsic E."""

    slot: int
    author_index: int
    extrinsic: Extrinsic


@cache
def statistics_state_codec(spec: ChainSpec) -> Struct[StatisticsState]:
    """The w3f `stf/statistics` state (statistics.asn `State`)."""
    return Struct(
        StatisticsState,
        {
            "vals_curr_stats": validators_statistics_codec(spec),
            "vals_last_stats": validators_statistics_codec(spec),
            "slot": U32,
            "curr_validators": validators_codec(spec),
        },
    )


@cache
def statistics_input_codec(spec: ChainSpec) -> Struct[StatisticsInput]:
    """The w3f `stf/statistics` input (statistics.asn `Input`)."""
    return Struct(
        StatisticsInput,
        {"slot": U32, "author_index": U16, "extrinsic": block_codecs(spec).extrinsic},
    )


def transition(
    pre: StatisticsState, inputs: StatisticsInput, spec: ChainSpec
) -> tuple[StatisticsState, None]:
    """(pi_V', pi_L') (eq. 13.3-13.5) for the w3f statistics vectors; tau and kappa' are
    left as given. The reporters G are the keys in kappa' of the guarantees' signers
    (`reporter_keys`), the vector class having no previous-rotation keys."""
    reporters = reporter_keys(inputs.extrinsic.guarantees, pre.curr_validators)
    vals_curr, vals_last = validator_statistics(
        pre.vals_curr_stats,
        pre.vals_last_stats,
        pre.slot,
        inputs.slot,
        inputs.author_index,
        inputs.extrinsic,
        reporters,
        pre.curr_validators,
        spec,
    )
    post = StatisticsState(
        vals_curr_stats=vals_curr,
        vals_last_stats=vals_last,
        slot=pre.slot,
        curr_validators=pre.curr_validators,
    )
    return post, None


def block_statistics(
    pre: Statistics,
    prior_slot: int,
    slot: int,
    author_index: int,
    extrinsic: Extrinsic,
    reporters: Collection[bytes],
    posterior_validators: Sequence[ValidatorKey],
    incoming_reports: Sequence[WorkReport],
    available_reports: Sequence[WorkReport],
    accumulation_statistics: AccumulationStatistics,
    spec: ChainSpec,
) -> Statistics:
    """pi' = (pi_V', pi_L', pi_C', pi_S') (eq. 13.1-13.16) for one imported block.

    `prior_slot` is tau, `slot` tau' = H_t, `author_index` H_i; `reporters` is G
    (eq. 11.26, Ed25519 keys); `posterior_validators` kappa'; `incoming_reports` I
    (eq. 11.28, the reports of E_G in order); `available_reports` W (eq. 11.16);
    `accumulation_statistics` S (eq. 12.29: service -> (gas used, items accumulated)).
    """
    vals_curr, vals_last = validator_statistics(
        pre.vals_curr,
        pre.vals_last,
        prior_slot,
        slot,
        author_index,
        extrinsic,
        reporters,
        posterior_validators,
        spec,
    )
    cores = core_statistics(incoming_reports, available_reports, extrinsic.assurances, spec)
    services = service_statistics(incoming_reports, extrinsic.preimages, accumulation_statistics)
    return Statistics(vals_curr=vals_curr, vals_last=vals_last, cores=cores, services=services)
