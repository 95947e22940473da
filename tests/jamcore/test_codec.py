"""Appendix C codec: w3f codec vectors byte for byte, round trips, and strict decoding."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jamcore.block import (
    Block,
    block_codecs,
    encode_unsigned_header,
    extrinsic_hash,
    header_hash,
)
from jamcore.codec import (
    MAX_NATURAL,
    U16,
    U32,
    BitSequence,
    Codec,
    CodecError,
    Dictionary,
    FixedBytes,
    Variant,
    decode_natural,
    encode_natural,
    optional,
    seq,
)
from jamcore.spec import SPECS, TINY, ChainSpec
from jamcore.work.package import REFINE_CONTEXT, WORK_ITEM, WORK_PACKAGE
from jamcore.work.report import WORK_REPORT, WORK_RESULT
from tests.jamcore.codec_strategies import values_of
from tests.vectors import vector_params


def spec_for(vector: Path) -> ChainSpec:
    """The chain spec of a vector file: the `tiny` or `full` directory it lies in."""
    return next((SPECS[part] for part in vector.parts if part in SPECS), TINY)


def codec_for(vector: Path) -> Codec[Any]:
    """The codec a vector file tests: the spec from its directory, the type from its name."""
    codecs = block_codecs(spec_for(vector))
    type_name = re.sub(r"_\d+$", "", vector.stem)
    by_name: dict[str, Codec[Any]] = {
        "block": codecs.block,
        "header": codecs.header,
        "extrinsic": codecs.extrinsic,
        "tickets_extrinsic": codecs.tickets_extrinsic,
        "preimages_extrinsic": codecs.preimages_extrinsic,
        "guarantees_extrinsic": codecs.guarantees_extrinsic,
        "assurances_extrinsic": codecs.assurances_extrinsic,
        "disputes_extrinsic": codecs.disputes_extrinsic,
        "refine_context": REFINE_CONTEXT,
        "work_item": WORK_ITEM,
        "work_package": WORK_PACKAGE,
        "work_result": WORK_RESULT,
        "work_report": WORK_REPORT,
    }
    assert type_name in by_name, f"{vector}: no codec for vector type {type_name!r}"
    return by_name[type_name]


def load(vector: Path) -> tuple[Any, bytes]:
    return json.loads(vector.read_text()), vector.with_suffix(".bin").read_bytes()


@pytest.mark.parametrize("vector", vector_params("codec"))
def test_vector_encodes_byte_for_byte(vector: Path) -> None:
    codec = codec_for(vector)
    expected_json, expected_bytes = load(vector)
    assert codec.encode(codec.from_json(expected_json)) == expected_bytes


@pytest.mark.parametrize("vector", vector_params("codec"))
def test_vector_decodes_back(vector: Path) -> None:
    codec = codec_for(vector)
    expected_json, expected_bytes = load(vector)
    value = codec.decode(expected_bytes)
    assert value == codec.from_json(expected_json)
    assert codec.to_json(value) == expected_json


@pytest.mark.parametrize("vector", vector_params("codec"))
def test_every_truncation_is_a_codec_error(vector: Path) -> None:
    codec = codec_for(vector)
    _, encoded = load(vector)
    step = max(1, len(encoded) // 400)  # bound the work on large vectors
    for length in range(0, len(encoded), step):
        with pytest.raises(CodecError):
            codec.decode(encoded[:length])


@pytest.mark.parametrize("vector", vector_params("codec"))
def test_trailing_bytes_are_a_codec_error(vector: Path) -> None:
    codec = codec_for(vector)
    _, encoded = load(vector)
    with pytest.raises(CodecError, match="trailing"):
        codec.decode(encoded + b"\x00")


@pytest.mark.parametrize("vector", vector_params("codec"))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_vectors_decode_canonically_or_fail(vector: Path, data: st.DataObject) -> None:
    """A mutated encoding either fails with CodecError or is the canonical encoding of what
    it decodes to: the decoder accepts exactly one byte string per value."""
    codec = codec_for(vector)
    _, encoded = load(vector)
    position = data.draw(st.integers(0, len(encoded) - 1))
    replacement = data.draw(st.integers(0, 255))
    mutated = encoded[:position] + bytes((replacement,)) + encoded[position + 1 :]
    try:
        value = codec.decode(mutated)
    except CodecError:
        return
    assert codec.encode(value) == mutated


# --- Naturals ---------------------------------------------------------------------------


@given(st.integers(0, MAX_NATURAL))
def test_natural_round_trip(value: int) -> None:
    encoded = encode_natural(value)
    assert decode_natural(encoded) == (value, len(encoded))
    assert len(encoded) <= 9


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, "00"),
        (127, "7f"),
        (128, "8080"),
        (2**14 - 1, "bfff"),
        (2**14, "c00040"),
        (2**56 - 1, "feffffffffffffff"),
        (2**56, "ff0000000000000001"),
        (2**64 - 1, "ffffffffffffffffff"),
    ],
)
def test_natural_boundaries(value: int, encoded: str) -> None:
    assert encode_natural(value).hex() == encoded


@pytest.mark.parametrize("overlong", ["8000", "807f", "c00000", "ff0000000000000000", "e0000000"])
def test_invalid_non_canonical_natural(overlong: str) -> None:
    with pytest.raises(CodecError, match="non-canonical"):
        decode_natural(bytes.fromhex(overlong))


@pytest.mark.parametrize("value", [-1, 2**64])
def test_invalid_natural_out_of_range(value: int) -> None:
    with pytest.raises(CodecError):
        encode_natural(value)


@given(st.binary(max_size=12))
def test_natural_decoding_never_leaks_other_errors(raw: bytes) -> None:
    try:
        value, end = decode_natural(raw)
    except CodecError:
        return
    assert encode_natural(value) == raw[:end]


# --- Combinators ------------------------------------------------------------------------

COMBINATORS: list[Codec[Any]] = [
    U16,
    seq(U32),
    seq(FixedBytes(3), 2),
    optional(seq(U16)),
    BitSequence(),
    BitSequence(11),
    Dictionary(U32, seq(U16)),
]


@pytest.mark.parametrize("codec", COMBINATORS, ids=lambda c: type(c).__name__)
@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_combinator_round_trip(codec: Codec[Any], data: st.DataObject) -> None:
    value = data.draw(values_of(codec))
    encoded = codec.encode(value)
    assert codec.decode(encoded) == value
    assert codec.from_json(codec.to_json(value)) == value


@pytest.mark.parametrize("codec", COMBINATORS, ids=lambda c: type(c).__name__)
@settings(max_examples=150, deadline=None)
@given(raw=st.binary(max_size=40))
def test_combinator_fuzz_decodes_canonically_or_fails(codec: Codec[Any], raw: bytes) -> None:
    try:
        value = codec.decode(raw)
    except CodecError:
        return
    assert codec.encode(value) == raw


def test_invalid_unsorted_dictionary() -> None:
    codec = Dictionary(U16, U16)
    unsorted = encode_natural(2) + U16.encode(2) + U16.encode(0) + U16.encode(1) + U16.encode(0)
    with pytest.raises(CodecError, match="strictly increasing"):
        codec.decode(unsorted)


def test_invalid_bit_sequence_padding() -> None:
    with pytest.raises(CodecError, match="padding"):
        BitSequence(3).decode(b"\x0f")


def test_invalid_forged_sequence_length_fails_fast() -> None:
    with pytest.raises(CodecError, match="exceeds"):
        seq(U32).decode(encode_natural(2**40) + b"\x00" * 8)


# --- Typed structures -------------------------------------------------------------------

STRUCTURES: list[Codec[Any]] = [
    REFINE_CONTEXT,
    WORK_ITEM,
    WORK_PACKAGE,
    WORK_RESULT,
    WORK_REPORT,
    block_codecs(TINY).header,
    block_codecs(TINY).disputes_extrinsic,
    block_codecs(TINY).block,
]


@pytest.mark.parametrize("codec", STRUCTURES, ids=lambda c: c.cls.__name__)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_structure_round_trip(codec: Codec[Any], data: st.DataObject) -> None:
    value = data.draw(values_of(codec))
    encoded = codec.encode(value)
    assert codec.decode(encoded) == value
    assert codec.from_json(json.loads(json.dumps(codec.to_json(value)))) == value


def test_invalid_json_names_the_problem() -> None:
    with pytest.raises(CodecError, match="missing fields"):
        REFINE_CONTEXT.from_json({"anchor": "0x" + "00" * 32})
    with pytest.raises(CodecError, match="expected 32 bytes"):
        block_codecs(TINY).header.fields[0][1].from_json("0x00")


def test_invalid_work_result_discriminator() -> None:
    value = WORK_RESULT.decode(WORK_RESULT.encode(_a_work_result()))
    encoded = bytearray(WORK_RESULT.encode(value))
    encoded[4 + 32 + 32 + 8] = 9  # the result's discriminator
    with pytest.raises(CodecError, match="discriminator"):
        WORK_RESULT.decode(bytes(encoded))


def _a_work_result() -> Any:
    return WORK_RESULT.from_json(
        {
            "service_id": 7,
            "code_hash": "0x" + "11" * 32,
            "payload_hash": "0x" + "22" * 32,
            "accumulate_gas": 5,
            "result": {"ok": "0xaabb"},
            "refine_load": {
                "gas_used": 300,
                "imports": 1,
                "extrinsic_count": 2,
                "extrinsic_size": 3,
                "exports": 4,
            },
        }
    )


def test_variant_json_shape() -> None:
    assert WORK_RESULT.to_json(_a_work_result())["result"] == {"ok": "0xaabb"}
    assert Variant("panic") == Variant("panic", None)


# --- Header hashing ---------------------------------------------------------------------


@pytest.mark.parametrize("vector", vector_params("codec", "block.json"))
def test_unsigned_header_is_the_encoding_without_the_seal(vector: Path) -> None:
    expected_json, _ = load(vector)
    spec = spec_for(vector)
    codecs = block_codecs(spec)
    block: Block = codecs.block.from_json(expected_json)
    full = codecs.header.encode(block.header)
    assert full == encode_unsigned_header(block.header, spec) + block.header.seal
    assert len(header_hash(block.header, spec)) == 32
    assert extrinsic_hash(block.extrinsic, spec) != extrinsic_hash(
        codecs.extrinsic.from_json({**expected_json["extrinsic"], "tickets": []}), spec
    )
