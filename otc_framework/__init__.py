"""OTC desk framework: the core (pricing, sessions, closings, audit, admin) of a plugin-based
stablecoin OTC desk. Everything that speaks to the outside world is a plugin; see
``otc_framework.hookspecs`` for the hooks and ``otc_framework.ports`` for the adapter interfaces.
"""

__version__ = "0.1.0"
