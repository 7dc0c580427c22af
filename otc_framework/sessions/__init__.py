"""Quote sessions (SPEC §6): a price locked in the store, then closed exactly once."""
