"""Process-level plumbing: what a worker opens at start and closes at stop, and loops that
run in one process at a time."""
