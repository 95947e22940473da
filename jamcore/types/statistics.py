"""pi: activity statistics of validators, cores and services (graypaper section 13)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from jamcore.codec import NATURAL, U32, Codec, Dictionary, Struct, seq
from jamcore.spec import ChainSpec


@dataclass(frozen=True)
class ValidatorActivityRecord:
    """One validator's counts over an epoch (eq. 13.2)."""

    blocks: int
    tickets: int
    pre_images: int
    pre_images_size: int
    guarantees: int
    assurances: int

    @staticmethod
    def zero() -> ValidatorActivityRecord:
        return ValidatorActivityRecord(0, 0, 0, 0, 0, 0)


@dataclass(frozen=True)
class CoreActivityRecord:
    """One core's activity in the latest block (eq. 13.6)."""

    da_load: int
    popularity: int
    imports: int
    extrinsic_count: int
    extrinsic_size: int
    exports: int
    bundle_size: int
    gas_used: int

    @staticmethod
    def zero() -> CoreActivityRecord:
        return CoreActivityRecord(0, 0, 0, 0, 0, 0, 0, 0)


@dataclass(frozen=True)
class ServiceActivityRecord:
    """One service's activity in the latest block (eq. 13.7)."""

    provided_count: int
    provided_size: int
    refinement_count: int
    refinement_gas_used: int
    imports: int
    extrinsic_count: int
    extrinsic_size: int
    exports: int
    accumulate_count: int
    accumulate_gas_used: int

    @staticmethod
    def zero() -> ServiceActivityRecord:
        return ServiceActivityRecord(0, 0, 0, 0, 0, 0, 0, 0, 0, 0)


VALIDATOR_ACTIVITY_RECORD = Struct(
    ValidatorActivityRecord,
    {
        name: U32
        for name in (
            "blocks",
            "tickets",
            "pre_images",
            "pre_images_size",
            "guarantees",
            "assurances",
        )
    },
)
"""E_4 of each count (eq. D.2, C(13))."""

CORE_ACTIVITY_RECORD = Struct(
    CoreActivityRecord,
    {
        name: NATURAL
        for name in (
            "da_load",
            "popularity",
            "imports",
            "extrinsic_count",
            "extrinsic_size",
            "exports",
            "bundle_size",
            "gas_used",
        )
    },
)
SERVICE_ACTIVITY_RECORD = Struct(
    ServiceActivityRecord,
    {
        name: NATURAL
        for name in (
            "provided_count",
            "provided_size",
            "refinement_count",
            "refinement_gas_used",
            "imports",
            "extrinsic_count",
            "extrinsic_size",
            "exports",
            "accumulate_count",
            "accumulate_gas_used",
        )
    },
)
SERVICES_STATISTICS = Dictionary(U32, SERVICE_ACTIVITY_RECORD, key_name="id", value_name="record")
"""pi_S: service id -> record, sorted by id."""


@dataclass(frozen=True)
class Statistics:
    """pi = (pi_V, pi_L, pi_C, pi_S) (eq. 13.1)."""

    vals_curr: tuple[ValidatorActivityRecord, ...]
    vals_last: tuple[ValidatorActivityRecord, ...]
    cores: tuple[CoreActivityRecord, ...]
    services: dict[int, ServiceActivityRecord]


@cache
def validators_statistics_codec(spec: ChainSpec) -> Codec[tuple[ValidatorActivityRecord, ...]]:
    """V validator records."""
    return seq(VALIDATOR_ACTIVITY_RECORD, spec.validators_count)


@cache
def cores_statistics_codec(spec: ChainSpec) -> Codec[tuple[CoreActivityRecord, ...]]:
    """C core records."""
    return seq(CORE_ACTIVITY_RECORD, spec.cores_count)


@cache
def statistics_codec(spec: ChainSpec) -> Struct[Statistics]:
    """C(13): E(E_4(pi_V), E_4(pi_L), pi_C, pi_S) (eq. D.2)."""
    return Struct(
        Statistics,
        {
            "vals_curr": validators_statistics_codec(spec),
            "vals_last": validators_statistics_codec(spec),
            "cores": cores_statistics_codec(spec),
            "services": SERVICES_STATISTICS,
        },
    )
