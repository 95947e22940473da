"""Appendix C codecs for the finality layer's group elements, and strict decoding.

Points and scalars are 32 octets each (their canonical encodings). Decoding a point goes
through `Point.decode`, so a message carrying a point outside the prime-order subgroup is
rejected with `MalformedPoint`; any other malformation becomes `MalformedMessage`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from jamcore.codec import Codec, CodecError, FixedBytes, Json, Reader
from shielded.finality.errors import MalformedMessage
from shielded.finality.group import ENCODED_SIZE, Point, Scalar

T = TypeVar("T")

_RAW = FixedBytes(ENCODED_SIZE)


class PointCodec(Codec[Point]):
    """A subgroup point as its canonical 32-byte encoding."""

    min_size = ENCODED_SIZE

    def encode_into(self, value: Point, out: bytearray) -> None:
        out += value.encoded

    def read(self, reader: Reader) -> Point:
        return Point.decode(reader.read(ENCODED_SIZE))

    def to_json(self, value: Point) -> Json:
        return _RAW.to_json(value.encoded)

    def from_json(self, data: Json) -> Point:
        return Point.decode(_RAW.from_json(data))


class ScalarCodec(Codec[Scalar]):
    """A scalar below l as its canonical 32-byte little-endian encoding."""

    min_size = ENCODED_SIZE

    def encode_into(self, value: Scalar, out: bytearray) -> None:
        out += value.encode()

    def read(self, reader: Reader) -> Scalar:
        return Scalar.decode(reader.read(ENCODED_SIZE))

    def to_json(self, value: Scalar) -> Json:
        return _RAW.to_json(value.encode())

    def from_json(self, data: Json) -> Scalar:
        return Scalar.decode(_RAW.from_json(data))


POINT = PointCodec()
SCALAR = ScalarCodec()


def decode_strict(codec: Codec[T], data: bytes, what: str) -> T:
    """`codec.decode(data)`, turning codec failures into `MalformedMessage` naming `what`."""
    try:
        return codec.decode(data)
    except CodecError as error:
        raise MalformedMessage(f"{what}: {error}") from error


def encode(codec: Codec[Any], value: Any, what: str) -> bytes:
    """`codec.encode(value)`, turning out-of-range fields into `MalformedMessage`."""
    try:
        return codec.encode(value)
    except CodecError as error:
        raise MalformedMessage(f"{what}: {error}") from error
