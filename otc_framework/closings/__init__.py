"""Closings: confirmed trades, their table and the client API over them."""
