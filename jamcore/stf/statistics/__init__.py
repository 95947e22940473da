"""Activity statistics pi (graypaper v0.7.2 section 13): validators (`validators`), cores
(`cores`) and services (`services`), and the transitions that combine them (`transition`).
"""

from jamcore.stf.statistics.cores import core_statistics, data_availability_load, with_core_loads
from jamcore.stf.statistics.services import (
    AccumulationStatistics,
    provision_statistics,
    service_statistics,
    with_provisions,
    with_service_loads,
)
from jamcore.stf.statistics.transition import (
    StatisticsInput,
    StatisticsState,
    block_statistics,
    statistics_input_codec,
    statistics_state_codec,
    transition,
)
from jamcore.stf.statistics.validators import (
    reporter_keys,
    rotate_epoch,
    validator_statistics,
)

__all__ = [
    "AccumulationStatistics",
    "StatisticsInput",
    "StatisticsState",
    "block_statistics",
    "core_statistics",
    "data_availability_load",
    "provision_statistics",
    "reporter_keys",
    "rotate_epoch",
    "service_statistics",
    "statistics_input_codec",
    "statistics_state_codec",
    "transition",
    "validator_statistics",
    "with_core_loads",
    "with_provisions",
    "with_service_loads",
]
