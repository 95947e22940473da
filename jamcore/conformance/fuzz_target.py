"""A conformance-fuzzer target: the block importer behind the fuzzer protocol's Unix socket.

`FuzzTarget` is one session's protocol state machine, free of any transport: it answers the
handshake (PeerInfo), Initialize (store the given state, answer its root M_sigma, eq. D.3),
ImportBlock (Upsilon(sigma, B), eq. 4.1, on the state of the block's parent, answered with
the posterior root, or an Error when the block is invalid, the parent's state kept as it
was) and GetState (the keyvals of T(sigma), eq. D.2). States are kept by header hash
(eq. 5.2) so the fuzzer can fork from any recent block.

`FuzzTargetServer` listens on a `SOCK_STREAM` Unix socket and runs one session per
connection. A malformed frame or an out-of-protocol message ends that session (the
protocol's "unexpected or malformed message" rule) and the server goes on accepting.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import stat
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from jamcore.block import Block, header_hash
from jamcore.conformance.fuzz_framing import frame, read_frame
from jamcore.conformance.fuzz_protocol import (
    FEATURE_ANCESTRY,
    FEATURE_FORK,
    FUZZ_VERSION,
    AncestryItem,
    ErrorMessage,
    FuzzProtocolError,
    GetState,
    ImportBlock,
    Initialize,
    Message,
    PeerInfo,
    StateKeyvals,
    StateRoot,
    UndecodableBlock,
    Version,
    message_codec,
)
from jamcore.conformance.runner import BlockImporter, load_importer
from jamcore.errors import JamError
from jamcore.spec import TINY, ChainSpec
from jamcore.state.merklization import state_root
from jamcore.state.state import State, state_from_keyvals, state_to_keyvals

log = logging.getLogger("jamcore.fuzz_target")

JAM_VERSION = Version(0, 7, 2)
"""The graypaper version the importer implements."""

APP_VERSION = Version(0, 1, 0)
APP_NAME = "jamcore-target"

MAX_KEPT_STATES = 64
"""States kept for forking, least recently used dropped first; forks are at most one block
deep (feature-fork), so a few dozen recent states cover every possible parent."""


class SessionError(FuzzProtocolError):
    """A message the protocol does not allow at this point of the session."""

    code = "session_error"


@dataclass(frozen=True)
class KeptState:
    """A state the target can import on: sigma, its serialization T(sigma) and its root."""

    state: State
    keyvals: dict[bytes, bytes]
    root: bytes


class KnownHeaders:
    """The headers a session has seen, so a block's ancestry A (eq. 5.3) can be walked: the
    Initialize message's ancestry list and header, then every imported block with its parent.
    """

    def __init__(self) -> None:
        self._initial: dict[bytes, int] = {}
        self._imported: dict[bytes, tuple[int, bytes]] = {}

    def reset(self, ancestry: tuple[AncestryItem, ...], header: bytes, slot: int) -> None:
        """Start a session's chain at the Initialize header (slot `slot`) and its ancestors."""
        self._initial = {item.header_hash: item.slot for item in ancestry}
        self._initial[header] = slot
        self._imported = {}

    def add(self, header: bytes, slot: int, parent: bytes) -> None:
        """Record an imported block's header."""
        self._imported[header] = (slot, parent)

    def ancestry_of(self, parent: bytes) -> _ChainAncestry:
        """A for a block whose parent is `parent`: the parent and its ancestors."""
        return _ChainAncestry(self, parent)


@dataclass(frozen=True)
class _ChainAncestry:
    headers: KnownHeaders
    parent: bytes

    def holds(self, header_hash: bytes, slot: int) -> bool:
        """Whether `header_hash` at `slot` is on the chain ending at the parent."""
        cursor: bytes | None = self.parent
        imported, initial = self.headers._imported, self.headers._initial
        while cursor is not None and cursor in imported:
            cursor_slot, cursor_parent = imported[cursor]
            if cursor == header_hash:
                return cursor_slot == slot
            if cursor_slot < slot:
                return False
            cursor = cursor_parent
        return initial.get(header_hash) == slot


class FuzzTarget:
    """One fuzzer session's state: the handshake, and the states by header hash."""

    def __init__(
        self,
        spec: ChainSpec = TINY,
        *,
        features: int = FEATURE_FORK | FEATURE_ANCESTRY,
        importer: BlockImporter | None = None,
        max_states: int = MAX_KEPT_STATES,
    ) -> None:
        self.spec = spec
        self.features = features
        """The features this target supports; the session's are their intersection with the
        fuzzer's. With ancestry, lookup anchors are checked against the chain (eq. 11.35)."""
        self.session_features: int | None = None
        self.peer: PeerInfo | None = None
        self.ancestry: tuple[AncestryItem, ...] = ()
        self.headers = KnownHeaders()
        self._importer = importer
        self._states: OrderedDict[bytes, KeptState] = OrderedDict()
        self._max_states = max_states

    @property
    def importer(self) -> BlockImporter:
        if self._importer is None:
            try:
                self._importer = load_importer()
            except ImportError as error:
                raise SessionError(f"the block importer is unavailable: {error}") from error
        return self._importer

    def handle(self, message: Message) -> Message:
        """The answer to one fuzzer request; SessionError if the request is out of protocol."""
        if isinstance(message, PeerInfo):
            return self._peer_info(message)
        # Verify the handshake came first.
        if self.peer is None:
            raise SessionError(f"{type(message).__name__} before the PeerInfo handshake")
        if isinstance(message, Initialize):
            return self._initialize(message)
        if isinstance(message, ImportBlock):
            return self._import_block(message)
        if isinstance(message, GetState):
            return self._get_state(message)
        raise SessionError(f"{type(message).__name__} is not a request")

    def _peer_info(self, info: PeerInfo) -> PeerInfo:
        # Verify the handshake happens once.
        if self.peer is not None:
            raise SessionError("a second PeerInfo handshake")
        self.peer = info
        self.session_features = info.fuzz_features & self.features
        log.info(
            "fuzzer %s %d.%d.%d (protocol %d, jam %d.%d.%d, features 0x%x)",
            info.app_name,
            info.app_version.major,
            info.app_version.minor,
            info.app_version.patch,
            info.fuzz_version,
            info.jam_version.major,
            info.jam_version.minor,
            info.jam_version.patch,
            info.fuzz_features,
        )
        return PeerInfo(FUZZ_VERSION, self.features, JAM_VERSION, APP_VERSION, APP_NAME)

    def _keep(self, block_hash: bytes, kept: KeptState) -> None:
        self._states[block_hash] = kept
        self._states.move_to_end(block_hash)
        while len(self._states) > self._max_states:
            self._states.popitem(last=False)

    def _initialize(self, message: Initialize) -> StateRoot:
        """Reset to the given state, accepted exactly as provided, keyed by H(header)."""
        try:
            state = state_from_keyvals(message.keyvals, self.spec)
        except JamError as error:
            raise SessionError(f"initialize: the state does not decode: {error}") from error
        keyvals = dict(sorted(message.keyvals.items()))
        kept = KeptState(state, keyvals, state_root(keyvals))
        self._states.clear()
        self.ancestry = message.ancestry
        initial_hash = header_hash(message.header, self.spec)
        self.headers.reset(message.ancestry, initial_hash, message.header.slot)
        self._keep(initial_hash, kept)
        return StateRoot(kept.root)

    def _import_block(self, message: ImportBlock) -> StateRoot | ErrorMessage:
        """sigma' = Upsilon(sigma_parent, B) (eq. 4.1); an Error, and nothing kept, if invalid."""
        block = message.block
        parent = self._states.get(block.header.parent)
        # Verify the parent's state is known (eq. 5.2: H_p names the parent header).
        if parent is None:
            return ErrorMessage(f"unknown parent 0x{block.header.parent.hex()}")
        try:
            posterior = self._import(parent, block)
        except JamError as error:
            log.info("block at slot %d rejected: %s: %s", block.header.slot, error.code, error)
            return ErrorMessage(f"{error.code}: {error}")
        keyvals = dict(sorted(state_to_keyvals(posterior, self.spec).items()))
        kept = KeptState(posterior, keyvals, state_root(keyvals))
        block_hash = header_hash(block.header, self.spec)
        self.headers.add(block_hash, block.header.slot, block.header.parent)
        self._keep(block_hash, kept)
        return StateRoot(kept.root)

    def _import(self, parent: KeptState, block: Block) -> State:
        """Upsilon on the parent's state; with the ancestry feature, lookup anchors are
        checked against the session's chain (eq. 11.35)."""
        if self._importer is not None or not (self.session_features or 0) & FEATURE_ANCESTRY:
            return self.importer(parent.state, block, self.spec, parent.root)
        from jamcore.stf.block import import_block

        return import_block(
            parent.state,
            block,
            self.spec,
            prior_state_root=parent.root,
            ancestry=self.headers.ancestry_of(block.header.parent),
        )

    def _get_state(self, message: GetState) -> StateKeyvals | ErrorMessage:
        kept = self._states.get(message.header_hash)
        if kept is None:
            return ErrorMessage(f"unknown header hash 0x{message.header_hash.hex()}")
        return StateKeyvals(kept.keyvals)


def serve_connection(conn: socket.socket, target: FuzzTarget) -> None:
    """Run one session on a connected socket until the fuzzer closes it, or a malformed or
    out-of-protocol message ends it; never raises."""
    codec = message_codec(target.spec)
    try:
        while True:
            payload = read_frame(conn.recv)
            if payload is None:
                return
            try:
                answer = target.handle(codec.decode(payload))
            except UndecodableBlock as error:
                # A block that does not decode is an invalid block: answer, keep the session.
                answer = ErrorMessage(str(error))
            conn.sendall(frame(codec.encode(answer)))
    except FuzzProtocolError as error:
        log.warning("session ended: %s: %s", error.code, error)
    except OSError as error:
        log.warning("session ended: connection error: %s", error)
    except Exception:  # an importer bug is out of protocol: end this session, keep serving
        log.exception("session ended by an internal error")
    finally:
        with contextlib.suppress(OSError):
            conn.close()


class FuzzTargetServer:
    """A Unix-socket listener running one `FuzzTarget` session per connection, in turn."""

    def __init__(
        self,
        path: Path | str,
        spec: ChainSpec = TINY,
        *,
        features: int = FEATURE_FORK | FEATURE_ANCESTRY,
        importer: BlockImporter | None = None,
    ) -> None:
        self.path = Path(path)
        self.spec = spec
        self.features = features
        self.importer = importer
        self._closed = threading.Event()
        if self.path.exists() or self.path.is_symlink():
            # Verify only a stale socket is replaced, never another kind of file.
            if not stat.S_ISSOCK(os.lstat(self.path).st_mode):
                raise FileExistsError(f"{self.path} exists and is not a socket")
            self.path.unlink()
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(self.path))
        self._listener.listen(1)
        self._listener.settimeout(0.2)

    def serve_forever(self) -> None:
        """Accept and serve connections until `close()`."""
        while not self._closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._closed.is_set():
                    return
                raise
            conn.settimeout(None)
            target = FuzzTarget(self.spec, features=self.features, importer=self.importer)
            serve_connection(conn, target)

    def close(self) -> None:
        """Stop accepting and remove the socket file."""
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def __enter__(self) -> FuzzTargetServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
