"""Nullifier derivation and the nullifier set with epoch pruning."""
