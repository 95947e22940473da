"""The root of jamcore's errors and the one `ensure` helper every transition uses.

Each graypaper section raises subclasses of `JamError`; a subclass that answers a w3f test
vector carries the vector's error code in `code` (for example `bad_signature`), so a block
rejected by any section names the rule it broke, and callers can tell a malformed input from
an invalid one without reading messages.
"""

from __future__ import annotations


class JamError(Exception):
    """A block, extrinsic or state input that the graypaper rejects."""

    code: str = "invalid"
    """The w3f vectors' error code for this rule (snake_case)."""

    def __init__(self, message: str = "", code: str | None = None) -> None:
        super().__init__(message or (code or self.code))
        if code is not None:
            self.code = code


def ensure(condition: object, error: JamError) -> None:
    """Raise `error` unless `condition` holds (the execution-specs idiom)."""
    if not condition:
        raise error
