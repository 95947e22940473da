"""Codec benchmarks: decoding and encoding a full tiny block (the w3f codec vector)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from bench import Figure, rate, vectors_dir
from jamcore.block import Block, block_codecs
from jamcore.spec import TINY


def _vector_block() -> tuple[Block, bytes]:
    path = Path(vectors_dir()) / "codec" / "tiny" / "block.json"
    codec = block_codecs(TINY).block
    block = codec.from_json(json.loads(path.read_text()))
    return block, codec.encode(block)


def figures() -> Iterator[Figure]:
    codec = block_codecs(TINY).block
    block, encoded = _vector_block()
    yield Figure("codec.block_decode_per_s", rate(lambda: codec.decode(encoded)), "blocks/s")
    yield Figure("codec.block_encode_per_s", rate(lambda: codec.encode(block)), "blocks/s")
    yield Figure("codec.block_bytes", len(encoded), "bytes")
