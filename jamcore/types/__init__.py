"""Records of the JAM state's components (graypaper section 4, eq. 4.4) with their codecs.

Each module holds the records of one component family and their Appendix C / D.2 encodings,
whose JSON forms use the w3f vectors' field names. Transitions (`jamcore.stf`) build their
per-section states from these records; `jamcore.state` assembles them into sigma.
"""

from jamcore.types.accumulation import (
    ACCUMULATION_OUTPUT,
    ACCUMULATION_OUTPUTS,
    READY_RECORD,
    AccumulationOutput,
    Privileges,
    ReadyRecord,
    accumulated_codec,
    privileges_codec,
    ready_queue_codec,
)
from jamcore.types.availability import (
    AVAILABILITY_ASSIGNMENT,
    Availability,
    AvailabilityAssignment,
    availability_codec,
)
from jamcore.types.disputes import DISPUTES_RECORDS, DisputesRecords
from jamcore.types.history import (
    BLOCK_INFO,
    MMR,
    RECENT_BLOCKS,
    RECENT_HISTORY_SIZE,
    REPORTED_WORK_PACKAGE,
    BlockInfo,
    Mmr,
    RecentBlocks,
    ReportedWorkPackage,
)
from jamcore.types.services import SERVICE_INFO, ServiceAccount, ServiceInfo
from jamcore.types.statistics import (
    CORE_ACTIVITY_RECORD,
    SERVICE_ACTIVITY_RECORD,
    SERVICES_STATISTICS,
    VALIDATOR_ACTIVITY_RECORD,
    CoreActivityRecord,
    ServiceActivityRecord,
    Statistics,
    ValidatorActivityRecord,
    cores_statistics_codec,
    statistics_codec,
    validators_statistics_codec,
)
from jamcore.types.validators import VALIDATOR_KEY, ValidatorKey, validators_codec

__all__ = [
    "ACCUMULATION_OUTPUT",
    "ACCUMULATION_OUTPUTS",
    "AVAILABILITY_ASSIGNMENT",
    "BLOCK_INFO",
    "CORE_ACTIVITY_RECORD",
    "DISPUTES_RECORDS",
    "MMR",
    "READY_RECORD",
    "RECENT_BLOCKS",
    "RECENT_HISTORY_SIZE",
    "REPORTED_WORK_PACKAGE",
    "SERVICES_STATISTICS",
    "SERVICE_ACTIVITY_RECORD",
    "SERVICE_INFO",
    "VALIDATOR_ACTIVITY_RECORD",
    "VALIDATOR_KEY",
    "AccumulationOutput",
    "Availability",
    "AvailabilityAssignment",
    "BlockInfo",
    "CoreActivityRecord",
    "DisputesRecords",
    "Mmr",
    "Privileges",
    "ReadyRecord",
    "RecentBlocks",
    "ReportedWorkPackage",
    "ServiceAccount",
    "ServiceActivityRecord",
    "ServiceInfo",
    "Statistics",
    "ValidatorActivityRecord",
    "ValidatorKey",
    "accumulated_codec",
    "availability_codec",
    "cores_statistics_codec",
    "privileges_codec",
    "ready_queue_codec",
    "statistics_codec",
    "validators_codec",
    "validators_statistics_codec",
]
