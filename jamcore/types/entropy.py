"""eta: the entropy accumulator and the entropies of the last three epochs (graypaper
section 6.4, eq. 6.21), with its codec."""

from __future__ import annotations

from jamcore.codec import HASH, seq

Entropy = tuple[bytes, bytes, bytes, bytes]
"""eta = (eta_0, eta_1, eta_2, eta_3) (eq. 6.21)."""

ENTROPY = seq(HASH, 4)
"""C(6): E(eta), four hashes (eq. D.2)."""
