"""What Binance's market-data API is, as the adapter (``client``), its config and its fake
need it: the host, the book-ticker path, the symbols the desk reads, the request weights and
limits, and the statuses and codes its answers carry."""

from __future__ import annotations

from otc_framework.ports import USDC_BRL, USDT_BRL

DEFAULT_BASE_URL = "https://data-api.binance.vision"
BOOK_TICKER_PATH = "/api/v3/ticker/bookTicker"
SYMBOL_INSTRUMENTS = {"USDTBRL": USDT_BRL, "USDCBRL": USDC_BRL}
REQUEST_WEIGHT = 2
WEIGHT_LIMIT_PER_MINUTE = 6000
USED_WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"
INVALID_SYMBOL_CODE = -1121
RATE_LIMITED_STATUS = 429
BANNED_STATUS = 418
WAF_STATUS = 403
# Binance's bans start at 2 minutes and grow for repeat offenders; without a Retry-After,
# waiting the shortest ban is the least we can do.
BAN_DEFAULT_RETRY_AFTER_SECONDS = 120.0
