"""State-transition functions of the graypaper sections, one module per section."""
