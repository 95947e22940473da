"""JAM protocol core (the Join-Accumulate Machine of Polkadot's graypaper, v0.7.0).

This package knows nothing of the shielded pool: it provides the codec, cryptography,
PVM, Safrole, state merklization, erasure coding, shuffling and the work/service protocol
that the application chain in `shielded` is built on.
"""
