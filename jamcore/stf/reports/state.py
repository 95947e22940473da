"""The state, input and output of the guarantees transition (graypaper v0.7.2 section 11.4)
as the w3f `stf/reports` vectors give them (reports.asn), with their codecs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from jamcore.codec import HASH, U32, Codec, Dictionary, Json, Reader, Struct, seq
from jamcore.spec import ChainSpec
from jamcore.types.authorizations import AuthPools, auth_pools_codec
from jamcore.types.availability import Availability, availability_codec
from jamcore.types.entropy import ENTROPY
from jamcore.types.history import RecentBlocks, recent_blocks_codec
from jamcore.types.services import SERVICE_INFO, ServiceInfo
from jamcore.types.statistics import (
    SERVICES_STATISTICS,
    CoreActivityRecord,
    ServiceActivityRecord,
    cores_statistics_codec,
)
from jamcore.types.validators import ValidatorKey, validators_codec
from jamcore.work.guarantee import ReportGuarantee, guarantees_extrinsic_codec


@dataclass(frozen=True)
class ReportsState:
    """What section 11.4 reads and writes: rho-double-dagger (mutated to rho'), kappa',
    lambda', eta', psi'_O, beta, alpha, the service records of delta, and pi_C, pi_S."""

    avail_assignments: Availability
    curr_validators: tuple[ValidatorKey, ...]
    prev_validators: tuple[ValidatorKey, ...]
    entropy: tuple[bytes, ...]
    offenders: tuple[bytes, ...]
    recent_blocks: RecentBlocks
    auth_pools: AuthPools
    accounts: dict[int, ServiceInfo]
    cores_statistics: tuple[CoreActivityRecord, ...]
    services_statistics: dict[int, ServiceActivityRecord]


@dataclass(frozen=True)
class ReportsInput:
    """E_G, H_t and the hashes of every package already in the pipeline (recent history,
    accumulated, pending availability and ready queue; eq. 11.36-11.38)."""

    guarantees: tuple[ReportGuarantee, ...]
    slot: int
    known_packages: tuple[bytes, ...]


@dataclass(frozen=True)
class ReportedPackage:
    """A newly reported package's hash and segment root."""

    work_package_hash: bytes
    segment_tree_root: bytes


@dataclass(frozen=True)
class ReportsOutput:
    """The packages reported (by hash) and the reporters R (eq. 11.26), sorted."""

    reported: tuple[ReportedPackage, ...]
    reporters: tuple[bytes, ...]


class AccountService(Codec[ServiceInfo]):
    """An account of the vectors, `{"service": ServiceInfo}`, as its service record."""

    min_size = SERVICE_INFO.min_size

    def encode_into(self, value: ServiceInfo, out: bytearray) -> None:
        SERVICE_INFO.encode_into(value, out)

    def read(self, reader: Reader) -> ServiceInfo:
        return SERVICE_INFO.read(reader)

    def to_json(self, value: ServiceInfo) -> Json:
        return {"service": SERVICE_INFO.to_json(value)}

    def from_json(self, data: Json) -> ServiceInfo:
        return SERVICE_INFO.from_json(data["service"])


ACCOUNTS = Dictionary(U32, AccountService(), key_name="id", value_name="data")

REPORTED_PACKAGE = Struct(ReportedPackage, {"work_package_hash": HASH, "segment_tree_root": HASH})
REPORTS_OUTPUT = Struct(ReportsOutput, {"reported": seq(REPORTED_PACKAGE), "reporters": seq(HASH)})
"""The ok value of the w3f `stf/reports` output."""


@cache
def reports_state_codec(spec: ChainSpec) -> Struct[ReportsState]:
    """The w3f `stf/reports` State (reports.asn)."""
    return Struct(
        ReportsState,
        {
            "avail_assignments": availability_codec(spec),
            "curr_validators": validators_codec(spec),
            "prev_validators": validators_codec(spec),
            "entropy": ENTROPY,
            "offenders": seq(HASH),
            "recent_blocks": recent_blocks_codec(spec),
            "auth_pools": auth_pools_codec(spec),
            "accounts": ACCOUNTS,
            "cores_statistics": cores_statistics_codec(spec),
            "services_statistics": SERVICES_STATISTICS,
        },
    )


@cache
def reports_input_codec(spec: ChainSpec) -> Struct[ReportsInput]:
    """The w3f `stf/reports` Input (reports.asn): E_G (at most C guarantees), slot and the
    known packages."""
    return Struct(
        ReportsInput,
        {
            "guarantees": guarantees_extrinsic_codec(spec),
            "slot": U32,
            "known_packages": seq(HASH),
        },
    )
