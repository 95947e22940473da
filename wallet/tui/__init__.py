"""The wallet's terminal user interface (Textual): `shielded wallet` without a subcommand.

`run_tui(wallet)` opens it; `WalletApp` is the application, its screens live in `send.py`,
`receive.py` and `prompts.py`, its panels in `widgets.py`, and `session.py` is the
thread-safe bridge between the UI and the (blocking) wallet library.
"""
