"""Cryptographic primitives: blake2b-256, keccak-256, ed25519, Bandersnatch VRFs, SRS handling."""
