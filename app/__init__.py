"""The `shielded` command and the demo: the layer above `wallet/` and `shielded/`.

Nothing below imports this package (the import contracts in pyproject.toml check it):
`app -> wallet -> shielded -> jamcore`.
"""
