"""Persistence: the database (Tortoise models, migrations, seeds) and the store (Redis or
in-process) for short-lived shared state."""
