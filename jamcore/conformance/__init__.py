"""Conformance tooling: readers of the w3f/davxy block-import trace files (`traces/`)."""
