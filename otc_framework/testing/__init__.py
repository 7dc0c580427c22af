"""What plugin authors reuse: fake-venue plumbing, contract suites per port, pytest fixtures."""
