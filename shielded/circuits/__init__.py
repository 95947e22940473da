"""Circom circuits, trusted-setup artifacts, prover and verifier wrappers."""
