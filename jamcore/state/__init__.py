"""State types, service accounts and merklization (graypaper Appendix D)."""
