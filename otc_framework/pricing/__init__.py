"""Pricing (SPEC §4): reference sources, the pipeline, spreads, the price board and stream."""
