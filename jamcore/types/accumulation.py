"""Accumulation's state records: the ready queue (omega), privileges (chi) and the last
accumulation outputs (theta) (graypaper sections 9.4, 12.1-12.2)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from jamcore.codec import HASH, U32, U64, Codec, Dictionary, Struct, seq
from jamcore.spec import ChainSpec
from jamcore.work.report import WORK_REPORT, WorkReport


@dataclass(frozen=True)
class ReadyRecord:
    """A report waiting in the ready queue and the packages it still waits for (eq. 12.3)."""

    report: WorkReport
    dependencies: tuple[bytes, ...]


READY_RECORD = Struct(ReadyRecord, {"report": WORK_REPORT, "dependencies": seq(HASH)})


@cache
def ready_queue_codec(spec: ChainSpec) -> Codec[tuple[tuple[ReadyRecord, ...], ...]]:
    """C(14): omega, E slots each a sequence of ready records (eq. D.2)."""
    return seq(seq(READY_RECORD), spec.epoch_length)


@cache
def accumulated_codec(spec: ChainSpec) -> Codec[tuple[tuple[bytes, ...], ...]]:
    """C(15): xi, E slots each a sequence of accumulated package hashes (eq. D.2)."""
    return seq(seq(HASH), spec.epoch_length)


@dataclass(frozen=True)
class Privileges:
    """chi: the privileged services (eq. 9.9): manager (bless), per-core assigners,
    delegator (designate), registrar, and the always-accumulate services with their gas."""

    bless: int
    assign: tuple[int, ...]
    designate: int
    register: int
    always_acc: dict[int, int]


@cache
def privileges_codec(spec: ChainSpec) -> Struct[Privileges]:
    """C(12): E_4(chi_M, chi_A, chi_V, chi_R) ++ E(↕[E_4(s) ++ E_8(g)]) (eq. D.2)."""
    return Struct(
        Privileges,
        {
            "bless": U32,
            "assign": seq(U32, spec.cores_count),
            "designate": U32,
            "register": U32,
            "always_acc": Dictionary(U32, U64, key_name="id", value_name="gas"),
        },
    )


@dataclass(frozen=True)
class AccumulationOutput:
    """One service's accumulation output hash (theta, eq. 7.x/12.x)."""

    service: int
    hash: bytes


ACCUMULATION_OUTPUT = Struct(AccumulationOutput, {"service": U32, "hash": HASH})
ACCUMULATION_OUTPUTS = seq(ACCUMULATION_OUTPUT)
"""C(16): theta, E(↕[E_4(s) ++ h]) (eq. D.2)."""
