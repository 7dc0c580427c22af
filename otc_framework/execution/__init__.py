"""Hedging (SPEC §10): every closing's hedge intent, written with the closing (``intent``),
and the engine that drives it to filled exactly once (``engine``), choosing the LP through the
``exec_mode``'s strategy and guarded by a circuit breaker per LP (``breaker``)."""
