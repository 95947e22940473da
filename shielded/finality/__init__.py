"""OSST single-slot finality (design.md section 4; eprint 2025/722).

- `group`: the ed25519 prime-order subgroup (pynacl), canonical encodings, hash to scalar
- `msm`: multi-scalar multiplication (bucket method) for certificate verification
- `lagrange`: Lagrange coefficients at zero with one batch inversion
- `keys`: a validator's share, an epoch's group key and public shares, the threshold
- `vss`, `dkg`, `reshare`: Feldman VSS with complaints, genesis DKG, epoch resharing
- `simulation`: every party of a DKG or reshare round in one process, with faults
- `contribution`, `certificate`: votes, certificates, OSST eq. 3.3, identification
- `equivocation`: evidence of two votes at one slot, for Safrole's offenders
- `errors`: the typed `FinalityError`s raised for bad input
"""
