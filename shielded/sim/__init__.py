"""Dust and state-growth simulator (design section 7).

- `params`: what one run is (`SimulationParams`, `Policy`), validated with `SimulationError`.
- `sizes`: bytes per tree node, nullifier and ciphertext, measured on the pool's real objects.
- `pricing`: fees of each transaction class through the pool's own quote.
- `model`: the vectorized epoch-by-epoch model (`Simulation`, `simulate`).
- `report`: tables, CSV, JSON, terminal charts (plotext) and PNG files (matplotlib).
- `sweep`: one run per parameter value, in local processes or on Ray.
- `calibrate`: replays a running devnet's blocks and compares its state growth with the model.
- `cli`: `add_simulate_arguments` and `run_simulate` for `shielded simulate`.
"""
