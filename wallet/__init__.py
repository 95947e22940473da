"""Terminal wallet: a client of the node's JSON-RPC (keys, store, scanner, builder, TUI)."""
