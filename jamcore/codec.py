"""Graypaper Appendix C serialization, as composable typed codecs.

Every codec encodes a value to bytes, decodes it back from a `Reader`, and converts it to
and from the JSON shape used by the w3f test vectors (hex strings for octets, objects keyed
by field name, `null` for an absent optional, `{tag: payload}` for a choice).

Decoding is strict: truncated input, trailing bytes, non-canonical naturals, out-of-range
discriminators and invalid booleans raise `CodecError` and never yield a partial object.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from jamcore.errors import JamError

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")

Json = Any

MAX_NATURAL = 2**64 - 1


class CodecError(JamError, ValueError):
    """Bytes or JSON that do not encode a value of the expected type."""

    code = "malformed"


def ensure(condition: bool, message: str) -> None:
    """Raise `CodecError(message)` unless `condition` holds."""
    if not condition:
        raise CodecError(message)


class Reader:
    """A cursor over immutable input bytes; every read is bounds-checked."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes | bytearray | memoryview, pos: int = 0) -> None:
        self.data = bytes(data)
        self.pos = pos

    def read(self, length: int) -> bytes:
        """The next `length` bytes; CodecError if fewer remain."""
        end = self.pos + length
        if end > len(self.data):
            raise CodecError(
                f"truncated input: need {length} bytes at offset {self.pos}, "
                f"have {len(self.data) - self.pos}"
            )
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def read_byte(self) -> int:
        """The next single byte as an integer."""
        if self.pos >= len(self.data):
            raise CodecError(f"truncated input: need 1 byte at offset {self.pos}")
        byte = self.data[self.pos]
        self.pos += 1
        return byte

    def remaining(self) -> int:
        return len(self.data) - self.pos


# --------------------------------------------------------------------------------------
# Naturals (C.1, C.5, C.6)
# --------------------------------------------------------------------------------------


def encode_fixed(value: int, length: int) -> bytes:
    """E_l: little-endian fixed-width encoding of a natural below 2^(8l) (eq. C.5)."""
    if not 0 <= value < 1 << (8 * length):
        raise CodecError(f"natural {value} does not fit in {length} bytes")
    return value.to_bytes(length, "little")


def encode_natural(value: int) -> bytes:
    """E: variable-length encoding of a natural below 2^64 (eq. C.6).

    l = the number of extra octets: the prefix byte carries l leading one-bits and the
    high bits of the value; values >= 2^56 use the prefix 0xff and eight full octets.
    """
    if not 0 <= value <= MAX_NATURAL:
        raise CodecError(f"natural {value} out of range 0..2^64-1")
    if value < 0x80:
        return bytes((value,))
    for extra in range(1, 8):
        if value < 1 << (7 * (extra + 1)):
            prefix = 256 - (1 << (8 - extra)) + (value >> (8 * extra))
            return bytes((prefix,)) + (value & ((1 << (8 * extra)) - 1)).to_bytes(extra, "little")
    return b"\xff" + value.to_bytes(8, "little")


def read_natural(reader: Reader) -> int:
    """Inverse of `encode_natural`, rejecting non-canonical (overlong) encodings."""
    prefix = reader.read_byte()
    if prefix < 0x80:
        return prefix
    if prefix == 0xFF:
        value = int.from_bytes(reader.read(8), "little")
        ensure(value >= 1 << 56, f"non-canonical natural encoding at offset {reader.pos - 9}")
        return value
    extra = 8 - (~prefix & 0xFF).bit_length()  # number of leading one-bits
    high = prefix & ((1 << (7 - extra)) - 1)
    value = (high << (8 * extra)) | int.from_bytes(reader.read(extra), "little")
    ensure(
        value >= 1 << (7 * extra),
        f"non-canonical natural encoding at offset {reader.pos - extra - 1}",
    )
    return value


def decode_natural(data: bytes, offset: int = 0) -> tuple[int, int]:
    """Decode one variable-length natural at `offset`; returns (value, next offset)."""
    reader = Reader(data, offset)
    value = read_natural(reader)
    return value, reader.pos


# --------------------------------------------------------------------------------------
# The codec interface
# --------------------------------------------------------------------------------------


class Codec(ABC, Generic[T]):
    """Encodes values of type T to the graypaper byte format and JSON, and back."""

    min_size: int = 1
    """The fewest bytes any value of this type encodes to (bounds forged length prefixes)."""

    @abstractmethod
    def encode_into(self, value: T, out: bytearray) -> None:
        """Append the encoding of `value` to `out`."""

    @abstractmethod
    def read(self, reader: Reader) -> T:
        """Decode one value at the reader's position."""

    @abstractmethod
    def to_json(self, value: T) -> Json:
        """The w3f vectors' JSON form of `value`."""

    @abstractmethod
    def from_json(self, data: Json) -> T:
        """The value of a JSON form (CodecError if it does not fit)."""

    def encode(self, value: T) -> bytes:
        """The complete encoding of `value`."""
        out = bytearray()
        self.encode_into(value, out)
        return bytes(out)

    def decode(self, data: bytes | bytearray | memoryview) -> T:
        """Decode exactly one value from `data`; trailing bytes are an error."""
        reader = Reader(data)
        try:
            value = self.read(reader)
        except CodecError:
            raise
        except (ValueError, TypeError, IndexError, OverflowError) as error:
            raise CodecError(f"malformed input: {error}") from error
        ensure(reader.remaining() == 0, f"{reader.remaining()} trailing bytes after value")
        return value


def _from_hex(data: Json, what: str) -> bytes:
    ensure(isinstance(data, str), f"{what}: expected a hex string, got {type(data).__name__}")
    text = data[2:] if data.startswith("0x") else data
    try:
        return bytes.fromhex(text)
    except ValueError as error:
        raise CodecError(f"{what}: invalid hex string") from error


def _as_int(data: Json, what: str) -> int:
    ensure(
        isinstance(data, int) and not isinstance(data, bool),
        f"{what}: expected an integer, got {type(data).__name__}",
    )
    return int(data)


class FixedInt(Codec[int]):
    """A natural in `length` little-endian bytes (E_l, eq. C.5)."""

    def __init__(self, length: int) -> None:
        self.length = length
        self.limit = 1 << (8 * length)
        self.min_size = length

    def encode_into(self, value: int, out: bytearray) -> None:
        if not 0 <= value < self.limit:
            raise CodecError(f"natural {value} does not fit in {self.length} bytes")
        out += value.to_bytes(self.length, "little")

    def read(self, reader: Reader) -> int:
        return int.from_bytes(reader.read(self.length), "little")

    def to_json(self, value: int) -> Json:
        return value

    def from_json(self, data: Json) -> int:
        value = _as_int(data, f"u{8 * self.length}")
        ensure(0 <= value < self.limit, f"u{8 * self.length}: {value} out of range")
        return value


class Natural(Codec[int]):
    """A natural below 2^64 in the variable-length encoding E (eq. C.6)."""

    def encode_into(self, value: int, out: bytearray) -> None:
        out += encode_natural(value)

    def read(self, reader: Reader) -> int:
        return read_natural(reader)

    def to_json(self, value: int) -> Json:
        return value

    def from_json(self, data: Json) -> int:
        value = _as_int(data, "natural")
        ensure(0 <= value <= MAX_NATURAL, f"natural {value} out of range")
        return value


class Boolean(Codec[bool]):
    """A boolean as one octet, 0 or 1."""

    def encode_into(self, value: bool, out: bytearray) -> None:
        out.append(1 if value else 0)

    def read(self, reader: Reader) -> bool:
        byte = reader.read_byte()
        ensure(byte in (0, 1), f"invalid boolean octet {byte} at offset {reader.pos - 1}")
        return byte == 1

    def to_json(self, value: bool) -> Json:
        return value

    def from_json(self, data: Json) -> bool:
        ensure(isinstance(data, bool), f"expected a boolean, got {type(data).__name__}")
        return bool(data)


class FixedBytes(Codec[bytes]):
    """An octet sequence of known length, encoded as itself (eq. C.3)."""

    def __init__(self, length: int) -> None:
        self.length = length
        self.min_size = length

    def encode_into(self, value: bytes, out: bytearray) -> None:
        if len(value) != self.length:
            raise CodecError(f"expected {self.length} bytes, got {len(value)}")
        out += value

    def read(self, reader: Reader) -> bytes:
        return reader.read(self.length)

    def to_json(self, value: bytes) -> Json:
        return "0x" + value.hex()

    def from_json(self, data: Json) -> bytes:
        value = _from_hex(data, f"bytes[{self.length}]")
        ensure(len(value) == self.length, f"expected {self.length} bytes, got {len(value)}")
        return value


class Blob(Codec[bytes]):
    """A variable-length octet sequence with its length prefixed as a natural (eq. C.10)."""

    def encode_into(self, value: bytes, out: bytearray) -> None:
        out += encode_natural(len(value))
        out += value

    def read(self, reader: Reader) -> bytes:
        return reader.read(read_natural(reader))

    def to_json(self, value: bytes) -> Json:
        return "0x" + value.hex()

    def from_json(self, data: Json) -> bytes:
        return _from_hex(data, "blob")


class Sequence_(Codec[tuple[T, ...]]):
    """A sequence of values; length-prefixed unless `length` fixes it (eqs. C.7, C.10).

    `max_length` bounds a variable-length sequence (decoding beyond it is an error), so a
    hostile length prefix cannot make the decoder allocate without bound.
    """

    def __init__(
        self,
        element: Codec[T],
        length: int | None = None,
        *,
        min_length: int = 0,
        max_length: int | None = None,
    ) -> None:
        self.element = element
        self.length = length
        self.min_length = min_length
        self.max_length = max_length
        self.min_size = element.min_size * length if length is not None else 1

    def _check_length(self, count: int) -> None:
        if self.length is not None:
            ensure(count == self.length, f"expected {self.length} elements, got {count}")
            return
        ensure(count >= self.min_length, f"expected at least {self.min_length} elements")
        if self.max_length is not None:
            ensure(count <= self.max_length, f"expected at most {self.max_length} elements")

    def encode_into(self, value: tuple[T, ...], out: bytearray) -> None:
        self._check_length(len(value))
        if self.length is None:
            out += encode_natural(len(value))
        encode_element = self.element.encode_into
        for item in value:
            encode_element(item, out)

    def read(self, reader: Reader) -> tuple[T, ...]:
        if self.length is None:
            count = read_natural(reader)
            # Bound the count by the bytes left, so a forged prefix fails fast.
            ensure(
                count * self.element.min_size <= reader.remaining(),
                f"sequence of {count} elements exceeds the {reader.remaining()} bytes left",
            )
        else:
            count = self.length
        self._check_length(count)
        read_element = self.element.read
        return tuple(read_element(reader) for _ in range(count))

    def to_json(self, value: tuple[T, ...]) -> Json:
        return [self.element.to_json(item) for item in value]

    def from_json(self, data: Json) -> tuple[T, ...]:
        ensure(isinstance(data, list), f"expected a list, got {type(data).__name__}")
        value = tuple(self.element.from_json(item) for item in data)
        self._check_length(len(value))
        return value


class Optional_(Codec["T | None"]):
    """An optional value: 0 for none, 1 followed by the value (eq. C.8)."""

    def __init__(self, element: Codec[T]) -> None:
        self.element = element

    def encode_into(self, value: T | None, out: bytearray) -> None:
        if value is None:
            out.append(0)
        else:
            out.append(1)
            self.element.encode_into(value, out)

    def read(self, reader: Reader) -> T | None:
        tag = reader.read_byte()
        ensure(tag in (0, 1), f"invalid optional discriminator {tag} at offset {reader.pos - 1}")
        return self.element.read(reader) if tag == 1 else None

    def to_json(self, value: T | None) -> Json:
        return None if value is None else self.element.to_json(value)

    def from_json(self, data: Json) -> T | None:
        return None if data is None else self.element.from_json(data)


class BitSequence(Codec[tuple[bool, ...]]):
    """Bits packed into octets, least significant bit first (eq. C.9).

    With `length` set the bit count is implied; otherwise it is prefixed as a natural.
    """

    def __init__(self, length: int | None = None) -> None:
        self.length = length
        self.min_size = (length + 7) // 8 if length is not None else 1

    def encode_into(self, value: tuple[bool, ...], out: bytearray) -> None:
        if self.length is None:
            out += encode_natural(len(value))
        else:
            ensure(len(value) == self.length, f"expected {self.length} bits, got {len(value)}")
        packed = bytearray((len(value) + 7) // 8)
        for index, bit in enumerate(value):
            if bit:
                packed[index >> 3] |= 1 << (index & 7)
        out += packed

    def read(self, reader: Reader) -> tuple[bool, ...]:
        count = read_natural(reader) if self.length is None else self.length
        ensure(count <= 8 * reader.remaining(), f"bit sequence of {count} bits is truncated")
        packed = reader.read((count + 7) // 8)
        bits = tuple(bool(packed[i >> 3] >> (i & 7) & 1) for i in range(count))
        ensure(
            count % 8 == 0 or packed[-1] >> (count % 8) == 0,
            "bit sequence has non-zero padding bits",
        )
        return bits

    def to_json(self, value: tuple[bool, ...]) -> Json:
        # A fixed-length bitfield is its packed octets; a variable-length one keeps its
        # length prefix so the bit count survives the round trip.
        return "0x" + self.encode(value).hex()

    def from_json(self, data: Json) -> tuple[bool, ...]:
        return self.decode(_from_hex(data, "bit sequence"))


class Dictionary(Codec[dict[K, V]]):
    """A dictionary as the length-prefixed sequence of (key, value) pairs sorted by key
    (eq. C.10, C.11); decoding rejects unsorted or duplicate keys.

    JSON form: a list of objects `{key_name: ..., value_name: ...}` as in the vectors.
    """

    def __init__(
        self,
        key: Codec[K],
        value: Codec[V],
        *,
        key_name: str = "key",
        value_name: str = "value",
    ) -> None:
        self.key = key
        self.value = value
        self.key_name = key_name
        self.value_name = value_name

    def _sorted_keys(self, value: Mapping[K, V]) -> list[K]:
        # Ordered by the keys themselves (eq. C.10), not their encodings: E_4(256) sorts
        # before E_4(1) as octets but 1 < 256.
        return sorted(value)  # type: ignore[type-var]

    def encode_into(self, value: dict[K, V], out: bytearray) -> None:
        out += encode_natural(len(value))
        for key in self._sorted_keys(value):
            self.key.encode_into(key, out)
            self.value.encode_into(value[key], out)

    def read(self, reader: Reader) -> dict[K, V]:
        count = read_natural(reader)
        ensure(count <= reader.remaining(), f"dictionary of {count} entries is truncated")
        result: dict[K, V] = {}
        previous: Any = None
        for index in range(count):
            key = self.key.read(reader)
            ensure(
                index == 0 or key > previous,
                "dictionary keys are not strictly increasing",
            )
            previous = key
            result[key] = self.value.read(reader)
        return result

    def to_json(self, value: dict[K, V]) -> Json:
        return [
            {self.key_name: self.key.to_json(k), self.value_name: self.value.to_json(value[k])}
            for k in self._sorted_keys(value)
        ]

    def from_json(self, data: Json) -> dict[K, V]:
        ensure(isinstance(data, list), "expected a list of dictionary entries")
        result: dict[K, V] = {}
        for entry in data:
            ensure(isinstance(entry, dict), "expected a dictionary entry object")
            result[self.key.from_json(entry.get(self.key_name))] = self.value.from_json(
                entry.get(self.value_name)
            )
        return result


class Struct(Codec[T]):
    """A frozen dataclass encoded as the concatenation of its fields in order (eq. C.4).

    `fields` maps each dataclass field, in declaration order, to its codec. JSON keys are
    the field names (the vectors' snake_case names).
    """

    def __init__(self, cls: type[T], fields: Mapping[str, Codec[Any]]) -> None:
        declared = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        if list(fields) != declared:
            raise TypeError(f"{cls.__name__}: codec fields {list(fields)} != {declared}")
        self.cls = cls
        self.fields = tuple(fields.items())
        self.min_size = sum(codec.min_size for _, codec in self.fields)
        self._readers = tuple(codec.read for _, codec in self.fields)

    def encode_into(self, value: T, out: bytearray) -> None:
        for name, codec in self.fields:
            codec.encode_into(getattr(value, name), out)

    def read(self, reader: Reader) -> T:
        return self.cls(*[read(reader) for read in self._readers])

    def to_json(self, value: T) -> Json:
        return {name: codec.to_json(getattr(value, name)) for name, codec in self.fields}

    def from_json(self, data: Json) -> T:
        ensure(isinstance(data, dict), f"{self.cls.__name__}: expected an object")
        missing = [name for name, _ in self.fields if name not in data]
        ensure(not missing, f"{self.cls.__name__}: missing fields {missing}")
        return self.cls(*[codec.from_json(data[name]) for name, codec in self.fields])


@dataclasses.dataclass(frozen=True)
class Variant:
    """One alternative of a `Choice`: its tag name and payload (None for a unit variant)."""

    tag: str
    value: Any = None


class Choice(Codec[Variant]):
    """A tagged union: a one-octet discriminator then the chosen variant's payload.

    `variants` lists (tag name, payload codec or None for a unit variant) in discriminator
    order. JSON form: `{tag: payload}` with `null` payload for unit variants.
    """

    def __init__(self, variants: Sequence[tuple[str, Codec[Any] | None]]) -> None:
        self.variants = tuple(variants)
        self.index = {tag: i for i, (tag, _) in enumerate(self.variants)}

    def encode_into(self, value: Variant, out: bytearray) -> None:
        index = self.index.get(value.tag)
        if index is None:
            raise CodecError(f"unknown variant {value.tag!r}")
        out.append(index)
        codec = self.variants[index][1]
        if codec is not None:
            codec.encode_into(value.value, out)

    def read(self, reader: Reader) -> Variant:
        index = reader.read_byte()
        ensure(index < len(self.variants), f"invalid discriminator {index}")
        tag, codec = self.variants[index]
        return Variant(tag, None if codec is None else codec.read(reader))

    def to_json(self, value: Variant) -> Json:
        codec = self.variants[self.index[value.tag]][1]
        return {value.tag: None if codec is None else codec.to_json(value.value)}

    def from_json(self, data: Json) -> Variant:
        ensure(isinstance(data, dict) and len(data) == 1, "expected {tag: payload}")
        ((tag, payload),) = data.items()
        ensure(tag in self.index, f"unknown variant {tag!r}")
        codec = self.variants[self.index[tag]][1]
        return Variant(tag, None if codec is None else codec.from_json(payload))


class Lazy(Codec[T]):
    """A codec built on first use, for recursive or spec-dependent definitions."""

    def __init__(self, build: Callable[[], Codec[T]]) -> None:
        self._build = build
        self._codec: Codec[T] | None = None
        self.min_size = 0

    @property
    def codec(self) -> Codec[T]:
        if self._codec is None:
            self._codec = self._build()
        return self._codec

    def encode_into(self, value: T, out: bytearray) -> None:
        self.codec.encode_into(value, out)

    def read(self, reader: Reader) -> T:
        return self.codec.read(reader)

    def to_json(self, value: T) -> Json:
        return self.codec.to_json(value)

    def from_json(self, data: Json) -> T:
        return self.codec.from_json(data)


# Shorthand instances for the common cases.
U8 = FixedInt(1)
U16 = FixedInt(2)
U32 = FixedInt(4)
U64 = FixedInt(8)
NATURAL = Natural()
BOOL = Boolean()
BLOB = Blob()
HASH = FixedBytes(32)


def seq(
    element: Codec[T],
    length: int | None = None,
    *,
    min_length: int = 0,
    max_length: int | None = None,
) -> Sequence_[T]:
    """A sequence codec: fixed `length`, or length-prefixed within [min_length, max_length]."""
    return Sequence_(element, length, min_length=min_length, max_length=max_length)


def optional(element: Codec[T]) -> Optional_[T]:
    """An optional codec (eq. C.8)."""
    return Optional_(element)


def concat(parts: Iterable[bytes]) -> bytes:
    """The concatenation of already-encoded parts."""
    return b"".join(parts)
