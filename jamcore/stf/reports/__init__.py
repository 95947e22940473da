"""Work-report guarantees (graypaper v0.7.2 section 11.4): `transition` checks E_G against
the guarantor assignments (`assignment`), credentials (`credentials`), per-report limits
(`validity`) and context (`context`), and places the reports in rho'.
"""

from jamcore.stf.reports.assignment import Assignments, GuarantorAssignment, permute
from jamcore.stf.reports.errors import ReportsError
from jamcore.stf.reports.state import (
    REPORTS_OUTPUT,
    ReportedPackage,
    ReportsInput,
    ReportsOutput,
    ReportsState,
    reports_input_codec,
    reports_state_codec,
)
from jamcore.stf.reports.transition import transition

__all__ = [
    "REPORTS_OUTPUT",
    "Assignments",
    "GuarantorAssignment",
    "ReportedPackage",
    "ReportsError",
    "ReportsInput",
    "ReportsOutput",
    "ReportsState",
    "permute",
    "reports_input_codec",
    "reports_state_codec",
    "transition",
]
