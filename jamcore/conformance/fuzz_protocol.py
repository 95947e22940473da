"""The JAM conformance fuzzer protocol, version 1 (davxy/jam-conformance `fuzz-v1.asn`).

A fuzzer and a target exchange request-response messages over a Unix stream socket. Every
message is the JAM codec (graypaper Appendix C) encoding of one `Message` choice, a one-octet
tag then the payload, and travels prefixed by its length as a 32-bit little-endian integer:

    Message ::= CHOICE { peer-info [0] PeerInfo, initialize [1] Initialize,
                         state-root [2] StateRoot, import-block [3] ImportBlock,
                         get-state [4] GetState, state [5] State, error [255] Error }

`Header` and `Block` are the graypaper's (eq. 4.2, 5.1) with the codecs of `jamcore.block`;
`State` is the keyvals of T(sigma) (eq. D.2). Each message also has the JSON form of the
recorded sessions' twins (`{tag: payload}`, hex octets, snake_case names). Decoding is
strict and raises `FuzzProtocolError` for anything that is not exactly one message; a
hostile length never makes the reader allocate more than it has received.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from jamcore.block import Block, Header, block_codecs
from jamcore.codec import (
    HASH,
    U8,
    U32,
    Codec,
    CodecError,
    Json,
    Reader,
    Struct,
    encode_natural,
    read_natural,
    seq,
)
from jamcore.errors import JamError
from jamcore.spec import ChainSpec
from jamcore.state.keys import STATE_KEY_LENGTH

FUZZ_VERSION = 1
"""The fuzzer protocol version this module speaks (`fuzz-version`)."""

FEATURE_ANCESTRY = 1
"""feature-ancestry (2^0): Initialize carries up to A ancestors of the first block."""

FEATURE_FORK = 2
"""feature-fork (2^1): simple forks of depth at most 1."""

FEATURE_RESERVED = 1 << 31
"""feature-reserved (2^31)."""

MAX_ANCESTRY = 24
"""A: the most ancestry items in Initialize (`Ancestry ::= SEQUENCE (SIZE(0..24))`)."""

_DECODE_ERRORS = (CodecError, ValueError, TypeError, IndexError, OverflowError)


class FuzzProtocolError(JamError):
    """Bytes or JSON that are not one fuzzer-protocol message."""

    code = "malformed_message"


class UndecodableBlock(FuzzProtocolError):
    """A well-framed ImportBlock whose block does not decode (for example a work report
    with no results): the block is invalid, so a target answers it with an Error."""

    code = "undecodable_block"


class FrameError(FuzzProtocolError):
    """A frame whose length prefix is zero, too large, or cut short by the peer."""

    code = "malformed_frame"


# --- Message records (fuzz-v1.asn) -------------------------------------------------------


@dataclass(frozen=True)
class Version:
    """A semantic version (`Version ::= SEQUENCE { major U8, minor U8, patch U8 }`)."""

    major: int
    minor: int
    patch: int


@dataclass(frozen=True)
class PeerInfo:
    """The handshake message: protocol version, features and the peer's versions."""

    fuzz_version: int
    fuzz_features: int
    jam_version: Version
    app_version: Version
    app_name: str


@dataclass(frozen=True)
class AncestryItem:
    """One ancestor of the first imported block: its slot and header hash."""

    slot: int
    header_hash: bytes


@dataclass(frozen=True)
class Initialize:
    """Set (or reset) the target to `keyvals` (T(sigma), eq. D.2), referenced by the hash of
    `header`; `ancestry` lists recent ancestors when feature-ancestry is on."""

    header: Header
    keyvals: dict[bytes, bytes]
    ancestry: tuple[AncestryItem, ...]


@dataclass(frozen=True)
class StateRoot:
    """The answer to Initialize and ImportBlock: M_sigma of the head state (eq. D.3)."""

    root: bytes


@dataclass(frozen=True)
class ImportBlock:
    """Import `block` on the state of its parent (eq. 4.1)."""

    block: Block


@dataclass(frozen=True)
class GetState:
    """Ask for the keyvals of the state posterior to the block with this header hash."""

    header_hash: bytes


@dataclass(frozen=True)
class StateKeyvals:
    """The answer to GetState: the keyvals of T(sigma) (`State ::= SEQUENCE OF KeyValue`)."""

    keyvals: dict[bytes, bytes]


@dataclass(frozen=True)
class ErrorMessage:
    """The answer to an ImportBlock the protocol rejects; the text is free-form."""

    text: str


Message = PeerInfo | Initialize | StateRoot | ImportBlock | GetState | StateKeyvals | ErrorMessage


# --- Payload codecs -----------------------------------------------------------------------


class Utf8String(Codec[str]):
    """A UTF8String: the length-prefixed octets of its UTF-8 encoding (eq. C.10)."""

    def encode_into(self, value: str, out: bytearray) -> None:
        octets = value.encode("utf-8")
        out += encode_natural(len(octets))
        out += octets

    def read(self, reader: Reader) -> str:
        octets = reader.read(read_natural(reader))
        try:
            return octets.decode("utf-8")
        except UnicodeDecodeError as error:
            raise CodecError(f"string is not UTF-8: {error}") from error

    def to_json(self, value: str) -> Json:
        return value

    def from_json(self, data: Json) -> str:
        if not isinstance(data, str):
            raise CodecError(f"expected a string, got {type(data).__name__}")
        return data


class KeyvalsCodec(Codec[dict[bytes, bytes]]):
    """`SEQUENCE OF KeyValue`: (31-octet key, ↕value) pairs in the order given, no key twice.

    The order is kept as received so a message re-encodes byte for byte."""

    def encode_into(self, value: dict[bytes, bytes], out: bytearray) -> None:
        out += encode_natural(len(value))
        for key, item in value.items():
            if len(key) != STATE_KEY_LENGTH:
                raise CodecError(f"state key of {len(key)} octets, expected {STATE_KEY_LENGTH}")
            out += key
            out += encode_natural(len(item))
            out += item

    def read(self, reader: Reader) -> dict[bytes, bytes]:
        count = read_natural(reader)
        # Verify the count fits the input: each entry is a key and at least a length octet.
        if count * (STATE_KEY_LENGTH + 1) > reader.remaining():
            raise CodecError(f"{count} keyvals exceed the {reader.remaining()} octets left")
        keyvals: dict[bytes, bytes] = {}
        for _ in range(count):
            key = reader.read(STATE_KEY_LENGTH)
            item = reader.read(read_natural(reader))
            # Verify no key repeats: the keyvals are a dictionary (eq. D.2).
            if key in keyvals:
                raise CodecError(f"state key 0x{key.hex()} appears twice")
            keyvals[key] = item
        return keyvals

    def to_json(self, value: dict[bytes, bytes]) -> Json:
        return [{"key": "0x" + k.hex(), "value": "0x" + v.hex()} for k, v in value.items()]

    def from_json(self, data: Json) -> dict[bytes, bytes]:
        if not isinstance(data, list):
            raise CodecError("expected a list of key-value objects")
        keyvals: dict[bytes, bytes] = {}
        for entry in data:
            if not isinstance(entry, dict):
                raise CodecError("expected a key-value object")
            key = _hex(entry.get("key"), "key")
            if len(key) != STATE_KEY_LENGTH or key in keyvals:
                raise CodecError(f"bad or repeated state key 0x{key.hex()}")
            keyvals[key] = _hex(entry.get("value"), "value")
        return keyvals


def _hex(data: object, what: str) -> bytes:
    if not isinstance(data, str):
        raise CodecError(f"{what}: expected a hex string")
    try:
        return bytes.fromhex(data[2:] if data.startswith("0x") else data)
    except ValueError as error:
        raise CodecError(f"{what}: invalid hex string") from error


class _Wrapped(Codec[Any]):
    """A one-field message record encoded as its field alone."""

    def __init__(self, cls: type, inner: Codec[Any]) -> None:
        self.cls = cls
        self.inner = inner

    def encode_into(self, value: Any, out: bytearray) -> None:
        (field,) = value.__dataclass_fields__
        self.inner.encode_into(getattr(value, field), out)

    def read(self, reader: Reader) -> Any:
        return self.cls(self.inner.read(reader))

    def to_json(self, value: Any) -> Json:
        (field,) = value.__dataclass_fields__
        return self.inner.to_json(getattr(value, field))

    def from_json(self, data: Json) -> Any:
        return self.cls(self.inner.from_json(data))


class _InitializeCodec(Codec[Initialize]):
    """Initialize ::= SEQUENCE { header Header, keyvals State, ancestry Ancestry }; its JSON
    twin names the keyvals `state`."""

    def __init__(self, spec: ChainSpec) -> None:
        self.header = block_codecs(spec).header
        self.keyvals = KEYVALS
        self.ancestry = seq(ANCESTRY_ITEM, max_length=MAX_ANCESTRY)

    def encode_into(self, value: Initialize, out: bytearray) -> None:
        self.header.encode_into(value.header, out)
        self.keyvals.encode_into(value.keyvals, out)
        self.ancestry.encode_into(value.ancestry, out)

    def read(self, reader: Reader) -> Initialize:
        return Initialize(
            self.header.read(reader), self.keyvals.read(reader), self.ancestry.read(reader)
        )

    def to_json(self, value: Initialize) -> Json:
        return {
            "header": self.header.to_json(value.header),
            "state": self.keyvals.to_json(value.keyvals),
            "ancestry": self.ancestry.to_json(value.ancestry),
        }

    def from_json(self, data: Json) -> Initialize:
        if not isinstance(data, dict) or {"header", "state", "ancestry"} - set(data):
            raise CodecError("initialize: expected an object with header, state, ancestry")
        return Initialize(
            self.header.from_json(data["header"]),
            self.keyvals.from_json(data["state"]),
            self.ancestry.from_json(data["ancestry"]),
        )


VERSION = Struct(Version, {"major": U8, "minor": U8, "patch": U8})
UTF8 = Utf8String()
PEER_INFO = Struct(
    PeerInfo,
    {
        "fuzz_version": U8,
        "fuzz_features": U32,
        "jam_version": VERSION,
        "app_version": VERSION,
        "app_name": UTF8,
    },
)
KEYVALS = KeyvalsCodec()
ANCESTRY_ITEM = Struct(AncestryItem, {"slot": U32, "header_hash": HASH})


@dataclass(frozen=True)
class _Variant:
    tag: int
    name: str
    cls: type
    codec: Codec[Any]


class MessageCodec:
    """The `Message` choice for one chain spec: binary (tag octet, payload) and JSON
    (`{name: payload}`) forms of every fuzzer-protocol message."""

    def __init__(self, spec: ChainSpec) -> None:
        codecs = block_codecs(spec)
        variants = (
            _Variant(0, "peer_info", PeerInfo, PEER_INFO),
            _Variant(1, "initialize", Initialize, _InitializeCodec(spec)),
            _Variant(2, "state_root", StateRoot, _Wrapped(StateRoot, HASH)),
            _Variant(3, "import_block", ImportBlock, _Wrapped(ImportBlock, codecs.block)),
            _Variant(4, "get_state", GetState, _Wrapped(GetState, HASH)),
            _Variant(5, "state", StateKeyvals, _Wrapped(StateKeyvals, KEYVALS)),
            _Variant(255, "error", ErrorMessage, _Wrapped(ErrorMessage, UTF8)),
        )
        self._by_tag = {variant.tag: variant for variant in variants}
        self._by_name = {variant.name: variant for variant in variants}
        self._by_cls = {variant.cls: variant for variant in variants}

    def _variant_of(self, message: Message) -> _Variant:
        variant = self._by_cls.get(type(message))
        if variant is None:
            raise FuzzProtocolError(f"not a fuzzer message: {type(message).__name__}")
        return variant

    def encode(self, message: Message) -> bytes:
        """E(Message): the variant's tag octet, then its payload (Appendix C)."""
        variant = self._variant_of(message)
        out = bytearray((variant.tag,))
        try:
            variant.codec.encode_into(message, out)
        except _DECODE_ERRORS as error:
            raise FuzzProtocolError(f"{variant.name}: cannot encode: {error}") from error
        return bytes(out)

    def decode(self, data: bytes | bytearray | memoryview) -> Message:
        """The one message `data` encodes; FuzzProtocolError for an unknown tag, a
        malformed or truncated payload, or trailing octets."""
        reader = Reader(data)
        # Verify the message is not empty and its tag names a variant.
        if reader.remaining() == 0:
            raise FuzzProtocolError("empty message")
        tag = reader.read_byte()
        variant = self._by_tag.get(tag)
        if variant is None:
            raise FuzzProtocolError(f"unknown message tag {tag}")
        try:
            message = variant.codec.read(reader)
        except _DECODE_ERRORS as error:
            if variant.cls is ImportBlock:
                raise UndecodableBlock(f"import_block: {error}") from error
            raise FuzzProtocolError(f"{variant.name}: {error}") from error
        # Verify the payload is the whole message.
        if reader.remaining():
            error_cls = UndecodableBlock if variant.cls is ImportBlock else FuzzProtocolError
            raise error_cls(f"{variant.name}: {reader.remaining()} trailing octets")
        return message

    def name_of(self, message: Message) -> str:
        """The JSON tag of a message (`peer_info`, `import_block`, ...)."""
        return self._variant_of(message).name

    def to_json(self, message: Message) -> Json:
        """The recorded sessions' JSON twin of a message: `{name: payload}`."""
        variant = self._variant_of(message)
        return {variant.name: variant.codec.to_json(message)}

    def from_json(self, data: Json) -> Message:
        """The message of a JSON twin; FuzzProtocolError if it is not one."""
        if not isinstance(data, dict) or len(data) != 1:
            raise FuzzProtocolError("expected {message_name: payload}")
        ((name, payload),) = data.items()
        variant = self._by_name.get(name)
        if variant is None:
            raise FuzzProtocolError(f"unknown message name {name!r}")
        try:
            return variant.codec.from_json(payload)
        except _DECODE_ERRORS as error:
            raise FuzzProtocolError(f"{name}: {error}") from error


@cache
def message_codec(spec: ChainSpec) -> MessageCodec:
    """The (cached) message codec for `spec`."""
    return MessageCodec(spec)
