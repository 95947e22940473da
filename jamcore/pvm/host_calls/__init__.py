"""Host functions of the PVM invocations (graypaper 0.7.2 Appendix B).

`general` holds the functions every invocation may offer (B.6: gas, fetch, lookup, read,
write, info, and JIP-1's log), `refine` the refine functions (B.7) and `accumulate` those
acting on the accumulation context (B.8). This module names the host-call indices and
the result constants of B.1 shared by all of them.
"""

from __future__ import annotations

# -- host-call identifiers (Appendix B) ----------------------------------------------------

GAS, FETCH, LOOKUP, READ, WRITE, INFO = range(6)
HISTORICAL_LOOKUP, EXPORT, MACHINE, PEEK, POKE, PAGES, INVOKE, EXPUNGE = range(6, 14)
(
    BLESS,
    ASSIGN,
    DESIGNATE,
    CHECKPOINT,
    NEW,
    UPGRADE,
    TRANSFER,
    EJECT,
    QUERY,
    SOLICIT,
    FORGET,
    YIELD,
    PROVIDE,
) = range(14, 27)
LOG = 100
"""JIP-1's `log` host call."""

# -- result constants (B.1) ----------------------------------------------------------------

NONE = 2**64 - 1
"""The item does not exist."""
WHAT = 2**64 - 2
"""Name unknown."""
OOB = 2**64 - 3
"""Inner memory index not accessible."""
WHO = 2**64 - 4
"""Index unknown."""
FULL = 2**64 - 5
"""Storage full or resource already allocated."""
CORE = 2**64 - 6
"""Core index unknown."""
CASH = 2**64 - 7
"""Insufficient funds."""
LOW = 2**64 - 8
"""Gas limit too low."""
HUH = 2**64 - 9
"""Already solicited, cannot be forgotten, or invalid for the privilege level."""
OK = 0
"""General success."""

HOST_CALL_GAS = 10
"""g = 10: the base gas of every host call (Appendix B)."""

__all__ = [
    "ASSIGN", "BLESS", "CASH", "CHECKPOINT", "CORE", "DESIGNATE", "EJECT", "EXPORT",
    "EXPUNGE", "FETCH", "FORGET", "FULL", "GAS", "HISTORICAL_LOOKUP", "HOST_CALL_GAS", "HUH",
    "INFO", "INVOKE", "LOG", "LOOKUP", "LOW", "MACHINE", "NEW", "NONE", "OK", "OOB", "PAGES",
    "PEEK", "POKE", "PROVIDE", "QUERY", "READ", "SOLICIT", "TRANSFER", "UPGRADE", "WHAT",
    "WHO", "WRITE", "YIELD",
]
