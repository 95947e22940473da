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
from jamcore.types.authorizations import (
    AuthPools,
    AuthQueues,
    auth_pools_codec,
    auth_queues_codec,
)
from jamcore.types.availability import (
    AVAILABILITY_ASSIGNMENT,
    Availability,
    AvailabilityAssignment,
    availability_codec,
)
from jamcore.types.disputes import DISPUTES_RECORDS, DisputesRecords
from jamcore.types.entropy import ENTROPY, Entropy
from jamcore.types.history import (
    BLOCK_INFO,
    MMR,
    REPORTED_WORK_PACKAGE,
    BlockInfo,
    Mmr,
    RecentBlocks,
    ReportedWorkPackage,
    recent_blocks_codec,
)
from jamcore.types.services import (
    REQUEST_STATUS,
    SERVICE_INFO,
    ServiceAccount,
    ServiceInfo,
    decode_request_status,
    encode_request_status,
)
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
    "ENTROPY",
    "MMR",
    "READY_RECORD",
    "REPORTED_WORK_PACKAGE",
    "REQUEST_STATUS",
    "SERVICES_STATISTICS",
    "SERVICE_ACTIVITY_RECORD",
    "SERVICE_INFO",
    "VALIDATOR_ACTIVITY_RECORD",
    "VALIDATOR_KEY",
    "AccumulationOutput",
    "AuthPools",
    "AuthQueues",
    "Availability",
    "AvailabilityAssignment",
    "BlockInfo",
    "CoreActivityRecord",
    "DisputesRecords",
    "Entropy",
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
    "auth_pools_codec",
    "auth_queues_codec",
    "availability_codec",
    "cores_statistics_codec",
    "decode_request_status",
    "encode_request_status",
    "privileges_codec",
    "ready_queue_codec",
    "recent_blocks_codec",
    "statistics_codec",
    "validators_codec",
    "validators_statistics_codec",
]
