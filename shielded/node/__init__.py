"""The devnet node: chain, p2p, storage, RPC and devnet runner."""
