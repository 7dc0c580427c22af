"""The kinds of alert the core raises (SPEC §13). Dotted, so sink routing can take a family
(``spot.*``). Later parts of the desk add theirs here (LP fallback, hedge failed, …)."""

SPOT_FAILING = "spot.failing"
SPOT_RECOVERED = "spot.recovered"
TRADE_LARGE = "trade.large"
LP_FALLBACK = "lp.fallback"
TEST = "test"
