"""The Polkadot Virtual Machine (graypaper Appendix A): blobs, interpreter, fast path."""
