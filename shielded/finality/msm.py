"""Multi-scalar multiplication sum_i k_i * P_i over the ed25519 subgroup.

OSST verification (eq. 3.3) is one MSM over the k contributing commitments, so its cost
decides how fast a certificate verifies. Two strategies:

- few points: one libsodium scalar multiplication per point, summed with libsodium;
- many points: the bucket method (Pippenger) with signed c-bit digits, written in
  extended twisted Edwards coordinates (Hisil-Wong-Carter-Dawson 2008) over Python or
  gmpy2 integers. Each input point is put once into "Niels" form (y+x, y-x, 2dxy) so that
  adding it to a bucket costs seven field multiplications; the window width c minimises
  ceil(bits/c) * (k + 2^c) additions for the given k.

Both strategies return the same point; the tests check them against each other and against
the naive sum.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shielded.finality.group import (
    _P,
    EDWARDS_D,
    GROUP_ORDER,
    IDENTITY,
    Point,
    _field_int,
    compress,
)

BUCKET_METHOD_FROM = 96
"""Below this many points one libsodium multiplication per point is faster."""

_SCALAR_BITS = 253
_D2 = _field_int(2 * EDWARDS_D % int(_P))
_ZERO = _field_int(0)
_ONE = _field_int(1)
_NEUTRAL = (_ZERO, _ONE, _ONE, _ZERO)


def msm(scalars: Sequence[int], points: Sequence[Point]) -> Point:
    """sum_i scalars[i] * points[i]; scalars are taken mod l."""
    if len(scalars) != len(points):
        raise ValueError(f"{len(scalars)} scalars for {len(points)} points")
    reduced = [k % GROUP_ORDER for k in scalars]
    if len(points) < BUCKET_METHOD_FROM:
        return naive_msm(reduced, points)
    return _bucket_msm(reduced, points)


def naive_msm(scalars: Sequence[int], points: Sequence[Point]) -> Point:
    """The reference: one scalar multiplication per point, then the sum."""
    total = IDENTITY
    for k, point in zip(scalars, points, strict=True):
        total = total + point * k
    return total


def window_width(count: int) -> int:
    """The digit width c minimising ceil(bits / c) * (count + 2^c) point additions."""
    # A running-sum step (two full additions) costs about three bucket additions.
    return min(range(2, 14), key=lambda c: (_SCALAR_BITS // c + 2) * (count + 3 * (1 << (c - 1))))


def signed_digits(scalars: Sequence[int], width: int) -> list[list[int]]:
    """Digits d_w in [-2^(c-1), 2^(c-1)) with k = sum_w d_w 2^(cw); one row per window."""
    count = len(scalars)
    windows = _SCALAR_BITS // width + 2
    raw = np.frombuffer(b"".join(k.to_bytes(32, "little") for k in scalars), dtype=np.uint8)
    bits = np.unpackbits(raw.reshape(count, 32), axis=1, bitorder="little")
    bits = np.pad(bits, ((0, 0), (0, windows * width - 256)))
    digits = bits.reshape(count, windows, width).astype(np.int64) @ (
        np.int64(1) << np.arange(width, dtype=np.int64)
    )
    half = 1 << (width - 1)
    carry = np.zeros(count, dtype=np.int64)
    for w in range(windows):
        column = digits[:, w] + carry
        carry = (column >= half).astype(np.int64)
        digits[:, w] = column - (carry << width)
    return digits.T.tolist()


def _bucket_msm(scalars: Sequence[int], points: Sequence[Point]) -> Point:
    """Pippenger's bucket method with signed digits, in extended coordinates."""
    p, d2 = _P, _D2
    niels = []
    for point in points:
        x, y = point.affine()
        niels.append(((y + x) % p, (y - x) % p, d2 * x % p * y % p))
    width = window_width(len(points))
    digits = signed_digits(scalars, width)
    half = 1 << (width - 1)
    ax, ay, az, at = _NEUTRAL
    for w in range(len(digits) - 1, -1, -1):
        for _ in range(width):  # acc <- 2^c acc (dbl-2008-hwcd, a = -1)
            a = ax * ax % p
            b = ay * ay % p
            c2 = 2 * az * az % p
            h = a + b
            s = ax + ay
            e = h - s * s % p
            g = a - b
            f = c2 + g
            ax, ay, az, at = e * f % p, g * h % p, f * g % p, e * h % p
        buckets = [_NEUTRAL] * (half + 1)
        for i, digit in enumerate(digits[w]):
            if digit == 0:
                continue
            if digit > 0:
                ypx, ymx, t2d = niels[i]
            else:
                ymx, ypx, t2d = niels[i]
                t2d = -t2d
                digit = -digit
            x1, y1, z1, t1 = buckets[digit]
            a = (y1 - x1) * ymx  # madd-2008-hwcd-3: Niels point, Z2 = 1
            b = (y1 + x1) * ypx
            c = t1 * t2d % p
            dd = 2 * z1
            e, h, f, g = (b - a) % p, (b + a) % p, dd - c, dd + c
            buckets[digit] = (e * f % p, g * h % p, f * g % p, e * h % p)
        # sum_j j * bucket_j as running sums from the top bucket down. The additions are
        # written out rather than called: a call costs as much as the arithmetic here.
        rx, ry, rz, rt = _NEUTRAL
        tx, ty, tz, tt = _NEUTRAL
        for j in range(half, 0, -1):
            x2, y2, z2, t2 = buckets[j]
            a = (ry - rx) * (y2 - x2)  # running += bucket_j (add-2008-hwcd-3)
            b = (ry + rx) * (y2 + x2)
            c = rt * d2 % p * t2 % p
            dd = 2 * rz * z2 % p
            e, h, f, g = (b - a) % p, (b + a) % p, dd - c, dd + c
            rx, ry, rz, rt = e * f % p, g * h % p, f * g % p, e * h % p
            a = (ty - tx) * (ry - rx)  # total += running
            b = (ty + tx) * (ry + rx)
            c = tt * d2 % p * rt % p
            dd = 2 * tz * rz % p
            e, h, f, g = (b - a) % p, (b + a) % p, dd - c, dd + c
            tx, ty, tz, tt = e * f % p, g * h % p, f * g % p, e * h % p
        a = (ay - ax) * (ty - tx)  # acc += window sum
        b = (ay + ax) * (ty + tx)
        c = at * d2 % p * tt % p
        dd = 2 * az * tz % p
        e, h, f, g = (b - a) % p, (b + a) % p, dd - c, dd + c
        ax, ay, az, at = e * f % p, g * h % p, f * g % p, e * h % p
    z_inverse = pow(int(az), -1, int(p))
    return Point(compress(ax * z_inverse % p, ay * z_inverse % p))

