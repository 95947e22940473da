"""Safrole block production (graypaper section 6): tickets, sealing keys, entropy, epochs."""
