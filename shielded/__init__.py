"""The shielded-pool application chain built on `jamcore`."""

__version__ = "0.1.0"
