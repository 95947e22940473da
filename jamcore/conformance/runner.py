"""Run block-import traces (w3f/davxy `traces/`) through the block importer and report.

Each step of a trace directory is imported from the step's own pre-state (whose root must
equal the previous step's post-state root, or the genesis root for the first step), and the
posterior state root M_sigma(sigma') (eq. D.3) is compared with the step's post-state root.
On a mismatch the first differing state key (in key order) is named with the component it
serializes by eq. D.1-D.2: the component index and symbol, or the service id of a service
account or service-data key, and where both sides decode, the differing fields.

A step whose post-state equals its pre-state records an invalid block: it passes when the
importer rejects the block with a `JamError`.
"""

from __future__ import annotations

import dataclasses
import inspect
import statistics as stats
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from jamcore.block import Block
from jamcore.conformance.trace import RawState, read_genesis, read_trace_step, trace_files
from jamcore.errors import JamError
from jamcore.spec import ChainSpec
from jamcore.state.delta import state_changes
from jamcore.state.keys import SERVICE_ACCOUNT_COMPONENT, STATE_KEY_LENGTH
from jamcore.state.state import State, state_from_keyvals, state_to_keyvals
from jamcore.state.trie import StateTrie

BlockImporter = Callable[[State, Block, ChainSpec, bytes], State]
"""Upsilon(sigma, B) (eq. 4.1), given the spec and M_sigma(sigma) of the prior state."""

COMPONENTS: Mapping[int, tuple[str, str, str | None]] = {
    1: ("alpha", "auth_pools", "decode_auth_pools"),
    2: ("phi", "auth_queues", "decode_auth_queues"),
    3: ("beta", "recent_blocks", "decode_recent_blocks"),
    4: ("gamma", "safrole", "decode_safrole"),
    5: ("psi", "disputes", "decode_disputes"),
    6: ("eta", "entropy", "decode_entropy"),
    7: ("iota", "next_validators", "decode_validators"),
    8: ("kappa", "current_validators", "decode_validators"),
    9: ("lambda", "previous_validators", "decode_validators"),
    10: ("rho", "availability", "decode_availability"),
    11: ("tau", "slot", "decode_slot"),
    12: ("chi", "privileges", "decode_privileges"),
    13: ("pi", "statistics", "decode_statistics"),
    14: ("omega", "ready_queue", "decode_ready_queue"),
    15: ("xi", "accumulated", "decode_accumulated"),
    16: ("theta", "accumulation_outputs", "decode_accumulation_outputs"),
}
"""The state components by their D.1 index C(i) (eq. D.2): symbol, `State` field, and the
name of the row decoder in `jamcore.state.serialize`."""


def load_importer() -> BlockImporter:
    """`jamcore.stf.block.import_block` as a `BlockImporter`, given the known prior root."""
    from jamcore.stf.block import import_block

    def with_root(state: State, block: Block, spec: ChainSpec, root: bytes) -> State:
        return import_block(state, block, spec, prior_state_root=root)

    return with_root


# --- Locating the first difference (eq. D.1, D.2) ----------------------------------------


@dataclass(frozen=True)
class KeyDifference:
    """The first state key whose value differs between the expected and computed state."""

    key: bytes
    kind: str
    """`value` (both hold the key), `missing` (only expected) or `unexpected` (only computed)."""
    component: str
    """What the key serializes (eq. D.1): `C(13) pi statistics`, `C(255, 7) service 7 account`,
    `C(7, h) service 7 data`."""
    fields: tuple[str, ...] = ()
    """The differing fields of the decoded component, where both values decode."""

    def describe(self) -> str:
        detail = f" fields {', '.join(self.fields)}" if self.fields else ""
        return f"{self.kind} at 0x{self.key.hex()} ({self.component}){detail}"


def describe_key(key: bytes) -> str:
    """The component or service a 31-octet state key belongs to (eq. D.1)."""
    if len(key) == STATE_KEY_LENGTH and not any(key[1:]):
        symbol, name, _ = COMPONENTS.get(key[0], ("?", "unknown component", None))
        return f"C({key[0]}) {symbol} {name}"
    if key[0] == SERVICE_ACCOUNT_COMPONENT and not any(key[8:]) and not any(key[2:8:2]):
        service = int.from_bytes(key[1:8:2], "little")
        return f"C(255, {service}) service {service} account"
    # C(s, h): the service id's four octets interleaved with the first octets of h.
    service = int.from_bytes(bytes(key[0:8:2]), "little")
    return f"C({service}, h) service {service} data"


def _decoder(key: bytes) -> Callable[[bytes, ChainSpec], Any] | None:
    from jamcore.state import serialize

    if not any(key[1:]) and key[0] in COMPONENTS:
        name = COMPONENTS[key[0]][2]
    elif key[0] == SERVICE_ACCOUNT_COMPONENT and not any(key[8:]) and not any(key[2:8:2]):
        name = "decode_service_info"
    else:
        return None
    function = getattr(serialize, name or "", None)
    if function is None:
        return None
    if len(inspect.signature(function).parameters) >= 2:
        return function
    return lambda data, spec: function(data)


def _differing_fields(expected: Any, actual: Any, prefix: str = "", depth: int = 2) -> list[str]:
    """Paths of the parts of two decoded values that differ (dataclass fields, indices)."""
    if expected == actual:
        return []
    if depth > 0 and dataclasses.is_dataclass(expected) and type(expected) is type(actual):
        paths: list[str] = []
        for field in dataclasses.fields(expected):
            paths += _differing_fields(
                getattr(expected, field.name),
                getattr(actual, field.name),
                f"{prefix}.{field.name}" if prefix else field.name,
                depth - 1,
            )
        return paths
    if (
        depth > 0
        and isinstance(expected, tuple)
        and isinstance(actual, tuple)
        and len(expected) == len(actual)
    ):
        paths = []
        for index, (left, right) in enumerate(zip(expected, actual, strict=True)):
            paths += _differing_fields(left, right, f"{prefix}[{index}]", depth - 1)
        return paths
    return [prefix or "value"]


def first_difference(
    expected: Mapping[bytes, bytes], actual: Mapping[bytes, bytes], spec: ChainSpec
) -> KeyDifference | None:
    """The first key, in key order, at which two keyvals of T(sigma) differ (None if equal)."""
    for key in sorted(expected.keys() | actual.keys()):
        want, got = expected.get(key), actual.get(key)
        if want == got:
            continue
        kind = "missing" if got is None else "unexpected" if want is None else "value"
        fields: tuple[str, ...] = ()
        decoder = _decoder(key) if want is not None and got is not None else None
        if decoder is not None:
            try:
                fields = tuple(_differing_fields(decoder(want, spec), decoder(got, spec))[:8])
            except Exception:  # a value that does not decode is reported by key alone
                fields = ()
        return KeyDifference(key, kind, describe_key(key), fields)
    return None


# --- Running traces -----------------------------------------------------------------------


@dataclass(frozen=True)
class StepResult:
    """The outcome of importing one trace step."""

    name: str
    passed: bool
    expects_rejection: bool
    """The step's post-state equals its pre-state: the block is invalid."""
    import_ms: float
    """Wall-clock milliseconds of Upsilon(sigma, B) and M_sigma(sigma') (0 if not run)."""
    rejection: str | None = None
    """The importer's error code, if it rejected the block."""
    expected_root: bytes | None = None
    computed_root: bytes | None = None
    mismatch: KeyDifference | None = None
    problem: str | None = None
    """Why the step failed, in words."""
    note: str | None = None
    """Something about the step that is not a failure (a fork: its pre-state is not the
    previous step's post-state)."""


@dataclass(frozen=True)
class TraceReport:
    """Every step of one trace directory."""

    directory: Path
    steps: tuple[StepResult, ...]

    @property
    def passed(self) -> bool:
        return all(step.passed for step in self.steps)

    @property
    def first_failure(self) -> StepResult | None:
        return next((step for step in self.steps if not step.passed), None)

    def timings_ms(self) -> list[float]:
        return [step.import_ms for step in self.steps if step.import_ms > 0]


def timing_summary(timings_ms: Iterable[float]) -> dict[str, float]:
    """Mean, median and maximum of per-block milliseconds (zeros when there are none)."""
    values = sorted(timings_ms)
    if not values:
        return {"mean_ms": 0.0, "p50_ms": 0.0, "max_ms": 0.0}
    return {
        "mean_ms": stats.fmean(values),
        "p50_ms": stats.median(values),
        "max_ms": values[-1],
    }


def run_step(
    name: str,
    pre: RawState,
    block: Block,
    post: RawState,
    spec: ChainSpec,
    importer: BlockImporter,
) -> StepResult:
    """Import `block` on the state of `pre` and compare with `post` (eq. 4.1, D.3)."""
    expects_rejection = post.root == pre.root and post.keyvals == pre.keyvals
    # Verify the pre-state's keyvals have the root the trace gives them (eq. D.3). The trie
    # is a node's state trie: after the block it takes only the changed keys.
    trie = StateTrie(pre.keyvals)
    if trie.root() != pre.root:
        return StepResult(
            name, False, expects_rejection, 0.0, problem="pre-state keyvals do not have its root"
        )
    try:
        prior = state_from_keyvals(pre.keyvals, spec)
    except JamError as error:
        return StepResult(name, False, expects_rejection, 0.0, problem=f"pre-state: {error}")
    start = time.perf_counter()
    try:
        posterior = importer(prior, block, spec, pre.root)
    except JamError as error:
        elapsed = (time.perf_counter() - start) * 1e3
        problem = None if expects_rejection else f"block rejected: {error.code}: {error}"
        return StepResult(
            name,
            expects_rejection,
            expects_rejection,
            elapsed,
            error.code,
            post.root,
            problem=problem,
        )
    trie.update(state_changes(prior, posterior, spec))
    root = trie.root()
    elapsed = (time.perf_counter() - start) * 1e3
    if root == post.root:
        return StepResult(name, True, expects_rejection, elapsed, None, post.root, root)
    keyvals = state_to_keyvals(posterior, spec)
    problem = "invalid block accepted" if expects_rejection else "posterior state root differs"
    return StepResult(
        name,
        False,
        expects_rejection,
        elapsed,
        None,
        post.root,
        root,
        first_difference(post.keyvals, keyvals, spec),
        problem,
    )


def run_trace(
    directory: Path | str, spec: ChainSpec, importer: BlockImporter | None = None
) -> TraceReport:
    """Import every step of one trace directory, each from its own pre-state."""
    directory = Path(directory)
    importer = importer or load_importer()
    genesis_path, step_paths = trace_files(directory)
    previous_root = None
    if genesis_path is not None:
        previous_root = read_genesis(genesis_path.read_bytes(), spec).state.root
    results = []
    for path in step_paths:
        try:
            step = read_trace_step(path.read_bytes(), spec)
        except JamError as error:
            results.append(StepResult(path.stem, False, False, 0.0, problem=f"{error}"))
            previous_root = None
            continue
        result = run_step(path.stem, step.pre, step.block, step.post, spec, importer)
        # A step whose pre-state is not the last post-state starts a fork (traces of the
        # conformance fuzzer's sessions branch): it is imported from its own pre-state.
        if previous_root is not None and step.pre.root != previous_root:
            result = replace(
                result,
                note=f"pre-state root 0x{step.pre.root.hex()} is not the previous "
                f"post-state root 0x{previous_root.hex()} (a fork)",
            )
        results.append(result)
        previous_root = step.post.root
    return TraceReport(directory, tuple(results))


def trace_directories(path: Path | str) -> list[Path]:
    """`path` and every directory under it that holds trace files (genesis or steps)."""
    base = Path(path)
    candidates = [base, *sorted(p for p in base.rglob("*") if p.is_dir())]
    return [d for d in candidates if d.is_dir() and any(trace_files(d)[1])]


def run_traces(
    path: Path | str, spec: ChainSpec, importer: BlockImporter | None = None
) -> Iterator[TraceReport]:
    """Run every trace directory under `path`, in path order."""
    importer = importer or load_importer()
    for directory in trace_directories(path):
        yield run_trace(directory, spec, importer)
