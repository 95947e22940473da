"""OSST single-slot finality: DKG, contributions, certificates, resharing, equivocation."""
