"""Client identity: API keys (only their SHA-256 hash is stored) and, later, tokens."""
