"""Every admin blueprint, in the order the app mounts them."""

from otc_framework.admin import (
    audit_routes,
    client_routes,
    closing_routes,
    control_routes,
    hedge_routes,
    holiday_routes,
    spread_routes,
    stream_routes,
)
from otc_framework.alerts import routes as alert_routes
from otc_framework.bot import routes as bot_routes
from otc_framework.liquidity import routes as lp_routes
from otc_framework.risk import routes as risk_routes

BLUEPRINTS = (
    client_routes.bp,
    spread_routes.bp,
    control_routes.bp,
    holiday_routes.bp,
    closing_routes.bp,
    hedge_routes.bp,
    audit_routes.bp,
    alert_routes.bp,
    lp_routes.bp,
    risk_routes.bp,
    bot_routes.bp,
    stream_routes.bp,
)
