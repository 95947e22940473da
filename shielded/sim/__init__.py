"""Dust and state-growth simulator."""
