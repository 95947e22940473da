"""Block-import trace files (w3f/davxy `traces/schema.asn`), decoded with the JAM codec.

A trace directory holds `genesis.bin` (Genesis: the genesis header and state) and steps
`NNNNNNNN.bin` (TraceStep: the pre-state, the block imported on it, and the post-state).
A state is given raw, as its state root and the keyvals of T(sigma) (graypaper eq. D.2);
`jamcore.state.serialize.state_from_keyvals` turns keyvals into a `State`.

    KeyValue  ::= SEQUENCE { key ByteSequence (SIZE(31)), value ByteSequence }
    RawState  ::= SEQUENCE { state-root StateRoot, keyvals SEQUENCE OF KeyValue }
    TraceStep ::= SEQUENCE { pre-state RawState, block Block, post-state RawState }
    Genesis   ::= SEQUENCE { header Header, state RawState }
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jamcore.block import Block, Header, block_codecs
from jamcore.codec import CodecError, Reader
from jamcore.conformance.fuzz_protocol import KEYVALS
from jamcore.errors import JamError
from jamcore.spec import ChainSpec

GENESIS_FILE = "genesis.bin"
_DECODE_ERRORS = (CodecError, ValueError, TypeError, IndexError, OverflowError)


class MalformedTrace(JamError):
    """A trace file that does not decode per `traces/schema.asn`."""

    code = "malformed_trace"


@dataclass(frozen=True)
class RawState:
    """A state as the traces give it: its root and the keyvals of T(sigma) (eq. D.2)."""

    root: bytes
    keyvals: dict[bytes, bytes]


@dataclass(frozen=True)
class TraceStep:
    """One block import: the state before, the block, and the state after."""

    pre: RawState
    block: Block
    post: RawState


@dataclass(frozen=True)
class Genesis:
    """The genesis header and the genesis state."""

    header: Header
    state: RawState


def _read_raw_state(reader: Reader) -> RawState:
    root = reader.read(32)
    return RawState(root, KEYVALS.read(reader))


def encode_raw_state(state: RawState) -> bytes:
    """E(RawState): the root, then the keyvals as a length-prefixed sequence of
    (key, ↕value), in the order of the dictionary."""
    out = bytearray(state.root)
    KEYVALS.encode_into(state.keyvals, out)
    return bytes(out)


def _finish(reader: Reader, what: str) -> None:
    # Verify the file holds exactly one record.
    if reader.remaining():
        raise MalformedTrace(f"{what}: {reader.remaining()} trailing octets")


def read_trace_step(data: bytes, spec: ChainSpec) -> TraceStep:
    """Decode a TraceStep (traces/schema.asn); the block per Appendix C with `spec`."""
    reader = Reader(data)
    try:
        pre = _read_raw_state(reader)
        block = block_codecs(spec).block.read(reader)
        post = _read_raw_state(reader)
    except _DECODE_ERRORS as error:
        raise MalformedTrace(f"trace step: {error}") from error
    _finish(reader, "trace step")
    return TraceStep(pre, block, post)


def encode_trace_step(step: TraceStep, spec: ChainSpec) -> bytes:
    """E(TraceStep): inverse of `read_trace_step`."""
    return (
        encode_raw_state(step.pre)
        + block_codecs(spec).block.encode(step.block)
        + encode_raw_state(step.post)
    )


def read_genesis(data: bytes, spec: ChainSpec) -> Genesis:
    """Decode a Genesis record (traces/schema.asn): the header, then the raw state."""
    reader = Reader(data)
    try:
        header = block_codecs(spec).header.read(reader)
        state = _read_raw_state(reader)
    except _DECODE_ERRORS as error:
        raise MalformedTrace(f"genesis: {error}") from error
    _finish(reader, "genesis")
    return Genesis(header, state)


def trace_files(directory: Path | str) -> tuple[Path | None, list[Path]]:
    """A trace directory's genesis file (None if absent) and its step files in order."""
    base = Path(directory)
    genesis = base / GENESIS_FILE
    steps = sorted(path for path in base.glob("*.bin") if path.name != GENESIS_FILE)
    return (genesis if genesis.is_file() else None), steps
