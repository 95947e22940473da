"""Keys, addresses, notes, note encryption and the live/permanent commitment trees."""
