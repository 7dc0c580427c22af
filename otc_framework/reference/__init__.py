"""Reference data every request prices with (controls, spreads, holidays), cached per worker
and refreshed on the next request after any change, in every worker."""

from otc_framework.reference.cache import Reference, ReferenceCache

__all__ = ["Reference", "ReferenceCache"]
