"""Work packages, items, reports, guarantees, assurances and the Service protocol."""
