"""The core's controls with their defaults (SPEC §8). Plugins add theirs through the
``otc_controls`` hook."""

from __future__ import annotations

from decimal import Decimal

from otc_framework.controls.definition import ControlDefinition, ControlKind, ControlReference

B, I, D, E, C, S = (
    ControlKind.BOOL,
    ControlKind.INT,
    ControlKind.DECIMAL,
    ControlKind.ENUM,
    ControlKind.CSV,
    ControlKind.STRING,
)

CORE_CONTROLS: tuple[ControlDefinition, ...] = (
    ControlDefinition("quoting_enabled", B, True, "Accept new quotes (API and bot)"),
    ControlDefinition("api_enabled", B, True, "Serve the client API (health and admin always answer)"),
    ControlDefinition("bot_enabled", B, True, "Act on chat bot commands (the webhook always answers 200)"),
    ControlDefinition("bot_pix_info", S, "", "What the bot answers to /pix (PIX key and account holder)"),
    ControlDefinition("spread_adjustment", D, Decimal("0"), "Added to every tier spread, in %",
                      minimum=Decimal("-5"), maximum=Decimal("5")),
    ControlDefinition("usdc_usdt_ratio", D, Decimal("1.0000"), "USDC price relative to USDT",
                      minimum=Decimal("0.9"), maximum=Decimal("1.1")),
    ControlDefinition("session_ttl_seconds", I, 7, "Default quote lock, in seconds",
                      minimum=Decimal(1), maximum=Decimal(60)),
    ControlDefinition("spot_max_age_seconds", I, 10, "Oldest spot that may price a quote, in seconds",
                      minimum=Decimal(1), maximum=Decimal(300)),
    ControlDefinition("min_order_amount", D, Decimal("1000"), "Smallest order, in stablecoin units",
                      minimum=Decimal("0")),
    ControlDefinition("max_order_amount", D, Decimal("10000000"), "Largest order, in stablecoin units",
                      minimum=Decimal("0")),
    ControlDefinition("lp_quote_mode_enabled", B, False, "Price off the cheapest fresh LP"),
    ControlDefinition("lp_deviation_guard_enabled", B, True, "Drop LPs too far from the spot reference"),
    ControlDefinition("lp_max_deviation_pct", D, Decimal("0.50"), "Deviation guard threshold, in %",
                      minimum=Decimal("0"), maximum=Decimal("10")),
    ControlDefinition("quote_validity_5s_spread_pct", D, Decimal("0"), "Spread adder for 5 s quotes, in %",
                      minimum=Decimal("-5"), maximum=Decimal("5")),
    ControlDefinition("quote_validity_10s_spread_pct", D, Decimal("0"), "Spread adder for 10 s quotes, in %",
                      minimum=Decimal("-5"), maximum=Decimal("5")),
    # The built-in modes; a running desk accepts every registered mode (``PluginHost.controls``).
    ControlDefinition("exec_mode", E, "off", "Hedging mode",
                      choices=("off", "auto_best", "auto_manual", "off_market")),
    ControlDefinition("exec_lp_override", S, "", "LP used by auto_manual (empty = none)"),
    ControlDefinition("exec_comparison_pct", D, Decimal("2"), "LP price comparison threshold in auto_best, in %",
                      minimum=Decimal("0")),
    ControlDefinition("exec_offhours_spread_pct", D, Decimal("10"), "Extra spread in off_market mode, in bps",
                      minimum=Decimal("0")),
    ControlDefinition("exec_sell_spread_on_pct", D, Decimal("-0.50"), "Sell-side spread on-market, in %"),
    ControlDefinition("exec_sell_spread_off_pct", D, Decimal("-0.20"), "Sell-side spread off-market, in %"),
    ControlDefinition("exec_poll_interval_ms", I, 2000, "LP polling interval, in ms",
                      minimum=Decimal(250), maximum=Decimal(60000)),
    ControlDefinition("exec_enabled_clients", C, (), "Client names hedged automatically (empty = all)",
                      refers_to=ControlReference.CLIENTS),
    ControlDefinition("lp_feed_enable_24x7", B, False, "Keep polling 24/7 LPs off-hours"),
    ControlDefinition("lp_feed_nonco_usdt_enabled", B, False, "Poll Nonco USDT D0 in the LP feed"),
    ControlDefinition("exec_max_order_amount", D, Decimal("2000000"),
                      "Largest hedge sent without an operator, in stablecoin units (a larger one is held)",
                      minimum=Decimal("0")),
    ControlDefinition("risk_max_open_exposure", D, Decimal("20000000"),
                      "Unhedged notional above which new quotes are refused, in stablecoin units (0 = no limit)",
                      minimum=Decimal("0")),
    ControlDefinition("risk_client_daily_limit", D, Decimal("0"),
                      "Most a client may trade per business day, in stablecoin units (0 = no limit)",
                      minimum=Decimal("0")),
    ControlDefinition("alert_large_trade_amount", D, Decimal("1000000"),
                      "Alert operators of a trade of at least this amount, in stablecoin units (0 = never)",
                      minimum=Decimal("0")),
)
