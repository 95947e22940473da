"""The structured reference string (SRS) behind Bandersnatch ring VRF proofs.

Ring proofs (graypaper section 3.8.2, the Bandersnatch ring VRF) commit to the ring with KZG
over BLS12-381, so they need powers of a secret tau: `[tau^i]G1` for i < 3*2^k + 1 and
`[1]G2, [tau]G2`, where 2^k is the proof domain. The layout is arkworks' uncompressed one:
u64 LE count, G1 points as 96-byte big-endian x||y, u64 LE count, G2 points (192 bytes each).

* By default the Zcash powers-of-tau SRS (2^11 domain, rings up to 1791 keys) is loaded from
  the `dot-ring` package through importlib.resources and its sha256 is checked; a path may
  override it (the same file ships with the JAM test vectors).
* `generate_srs` makes a fresh SRS for larger rings (design section 2): powers of a random
  tau, which is discarded. It is as trustworthy as the machine that ran it, so it suits
  devnets and the personhood ring of a single operator, not a public chain.
"""

from __future__ import annotations

import hashlib
import importlib.util
import secrets
import struct
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

ZCASH_SRS_PACKAGE = "dot_ring.vrf.data"
ZCASH_SRS_FILE = "bls12-381-srs-2-11-uncompressed-zcash.bin"
ZCASH_SRS_SHA256 = "1d7d27e4f5f3c6190989bea58803180d3e19f725a57069392a405ac78b233c7d"

BLS12_381_SCALAR_ORDER = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
G1_BYTES = 96
G2_BYTES = 192
RING_OVERHEAD_ROWS = 257
"""Domain rows a ring proof needs besides the keys: 253 scalar bits and 4 padding rows."""


class SrsError(ValueError):
    """An SRS file is missing, corrupt, of the wrong layout or too small for a ring."""


@dataclass(frozen=True)
class Srs:
    """A KZG structured reference string in arkworks layout, with its sha256 digest."""

    data: bytes
    sha256: str
    g1_count: int

    @property
    def domain_size(self) -> int:
        """2^k: the largest proof domain the G1 powers cover (3*2^k + 1 of them)."""
        return 1 << (((self.g1_count - 1) // 3).bit_length() - 1)

    @property
    def max_ring_size(self) -> int:
        """The most keys a ring proven over this SRS may hold."""
        return self.domain_size - RING_OVERHEAD_ROWS


def parse_srs(data: bytes) -> Srs:
    """Check `data` has the arkworks layout (counts and point sizes) and wrap it as an Srs."""
    if len(data) < 16:
        raise SrsError(f"SRS of {len(data)} bytes is too short: expected two u64 counts")
    (g1_count,) = struct.unpack_from("<Q", data, 0)
    g2_offset = 8 + g1_count * G1_BYTES
    if g1_count < 4 or len(data) < g2_offset + 8:
        raise SrsError(f"SRS claims {g1_count} G1 points but has only {len(data)} bytes")
    (g2_count,) = struct.unpack_from("<Q", data, g2_offset)
    expected = g2_offset + 8 + g2_count * G2_BYTES
    if g2_count != 2 or len(data) != expected:
        raise SrsError(
            f"SRS layout mismatch: {g1_count} G1 and {g2_count} G2 points need {expected} "
            f"bytes (and exactly 2 G2 points), file has {len(data)}"
        )
    return Srs(data=data, sha256=hashlib.sha256(data).hexdigest(), g1_count=g1_count)


def _package_data(package: str, name: str) -> bytes:
    """The bytes of data file `name` in `package`, found without importing the package
    (importing dot_ring costs about a second of block import; the file is hash-checked)."""
    top, *inner = package.split(".")
    spec = importlib.util.find_spec(top)
    if spec is not None and spec.submodule_search_locations:
        candidate = Path(next(iter(spec.submodule_search_locations)), *inner, name)
        if candidate.is_file():
            return candidate.read_bytes()
    return resources.files(package).joinpath(name).read_bytes()


def load_srs(path: Path | str | None = None, *, expected_sha256: str | None = None) -> Srs:
    """Load an SRS: the Zcash one from the `dot-ring` package by default, or from `path`.

    The default is always hash-checked against ZCASH_SRS_SHA256; an override is checked when
    `expected_sha256` is given (pass ZCASH_SRS_SHA256 to insist on the Zcash parameters).
    """
    if path is None:
        try:
            data = _package_data(ZCASH_SRS_PACKAGE, ZCASH_SRS_FILE)
        except (ModuleNotFoundError, FileNotFoundError) as error:
            raise SrsError(
                f"the Zcash SRS {ZCASH_SRS_FILE} was not found in package {ZCASH_SRS_PACKAGE}; "
                "install dot-ring or pass a path"
            ) from error
        expected_sha256 = ZCASH_SRS_SHA256
    else:
        try:
            data = Path(path).read_bytes()
        except OSError as error:
            raise SrsError(f"cannot read SRS file {path}: {error}") from error
    srs = parse_srs(data)
    if expected_sha256 is not None and srs.sha256 != expected_sha256:
        raise SrsError(
            f"SRS {path or ZCASH_SRS_FILE} has sha256 {srs.sha256}, expected {expected_sha256}"
        )
    return srs


@cache
def zcash_srs() -> Srs:
    """The hash-checked Zcash SRS from the `dot-ring` package, loaded once per process."""
    return load_srs()


def domain_log2_for_ring(ring_size: int) -> int:
    """The smallest k such that a 2^k proof domain holds `ring_size` keys."""
    if ring_size < 1:
        raise SrsError(f"ring size must be positive, got {ring_size}")
    return (ring_size + RING_OVERHEAD_ROWS - 1).bit_length()


def generate_srs(domain_log2: int, *, tau: int | None = None) -> Srs:
    """A fresh SRS for a 2^domain_log2 domain: [tau^i]G1 for i <= 3*2^k, [1]G2 and [tau]G2.

    tau is drawn from the OS random source unless given (tests only) and is not kept.
    Uses the blst bindings shipped with `dot-ring` (py_ecc takes minutes for 2^12).
    """
    from dot_ring import blst

    if not 9 <= domain_log2 <= 20:
        raise SrsError(f"domain_log2 must be in 9..20, got {domain_log2}")
    secret = secrets.randbelow(BLS12_381_SCALAR_ORDER - 2) + 2 if tau is None else tau
    if not 1 < secret < BLS12_381_SCALAR_ORDER:
        raise SrsError("tau must be in 2..r-1")
    g1_count = 3 * (1 << domain_log2) + 1
    parts = [struct.pack("<Q", g1_count)]
    power = blst.G1()
    for _ in range(g1_count):
        parts.append(power.serialize())
        power = power.mult(secret)
    parts.append(struct.pack("<Q", 2))
    parts.append(blst.G2().serialize())
    parts.append(blst.G2().mult(secret).serialize())
    del secret
    return parse_srs(b"".join(parts))


def srs_for_ring(ring_size: int, srs: Srs | None = None) -> Srs:
    """`srs` (default: the Zcash SRS) if it holds `ring_size` keys, else an SrsError."""
    chosen = srs if srs is not None else zcash_srs()
    if ring_size > chosen.max_ring_size:
        raise SrsError(
            f"a ring of {ring_size} keys needs a 2^{domain_log2_for_ring(ring_size)} domain; "
            f"this SRS holds at most {chosen.max_ring_size} keys (use generate_srs)"
        )
    return chosen
