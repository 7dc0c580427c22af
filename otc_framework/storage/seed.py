"""Default rows every desk starts with: the spread grids and the controls (SPEC §4, §8).

Seeding only inserts what is missing and never overwrites a row that exists, so it is safe
to run on every start and after every plugin install: an operator's value always wins.

The functions use the application's models by default. Data migrations pass ``apps`` (the
migration's historical models) and ``using_db`` (the migration's transaction) instead, so
a migration keeps working after the models change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Protocol

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

from otc_framework.controls import ControlDefinition
from otc_framework.storage import models
from otc_framework.storage.models import Currency, Settlement, Tier

APP_LABEL = "models"

# Tier spread in %, by settlement window: rises with the tier (T1 institutional, T7
# test/default) and falls with a longer window. D1 is half of D0, D2 about a sixth.
_SPREAD_TABLE: Mapping[Tier, Mapping[Settlement, str]] = {
    Tier.T1: {Settlement.D0: "0.30", Settlement.D1: "0.15", Settlement.D2: "0.05"},
    Tier.T2: {Settlement.D0: "0.60", Settlement.D1: "0.30", Settlement.D2: "0.10"},
    Tier.T3: {Settlement.D0: "1.00", Settlement.D1: "0.50", Settlement.D2: "0.17"},
    Tier.T4: {Settlement.D0: "1.40", Settlement.D1: "0.70", Settlement.D2: "0.23"},
    Tier.T5: {Settlement.D0: "1.80", Settlement.D1: "0.90", Settlement.D2: "0.30"},
    Tier.T6: {Settlement.D0: "2.50", Settlement.D1: "1.25", Settlement.D2: "0.42"},
    Tier.T7: {Settlement.D0: "3.00", Settlement.D1: "1.50", Settlement.D2: "0.50"},
}

# LP spread in %, used instead of the tier spread in LP quote mode.
_LP_SPREAD_TABLE: Mapping[Tier, str] = {
    Tier.T1: "0.10",
    Tier.T2: "0.20",
    Tier.T3: "0.35",
    Tier.T4: "0.50",
    Tier.T5: "0.70",
    Tier.T6: "0.90",
    Tier.T7: "1.20",
}

# USDC is priced off USDT through the ratio control, so both currencies share a grid.
DEFAULT_SPREADS: Mapping[tuple[Tier, Currency, Settlement], Decimal] = {
    (tier, currency, settlement): Decimal(pct)
    for tier, row in _SPREAD_TABLE.items()
    for currency in Currency
    for settlement, pct in row.items()
}

DEFAULT_LP_SPREADS: Mapping[tuple[Tier, Currency], Decimal] = {
    (tier, currency): Decimal(pct)
    for tier, pct in _LP_SPREAD_TABLE.items()
    for currency in Currency
}


class ModelRegistry(Protocol):
    """What seeding needs from a model registry; a migration's ``apps`` is one."""

    def get_model(self, app_label: str, model_name: str | None = None) -> type[Model]: ...


async def seed_grids(
    *, apps: ModelRegistry | None = None, using_db: BaseDBAsyncClient | None = None
) -> int:
    """Insert the missing rows of ``spreads`` and ``lp_spreads``; return how many."""
    spread = _model(apps, "Spread")
    lp_spread = _model(apps, "LpSpread")
    rows = await spread.all(using_db=using_db).values_list("tier", "currency", "settlement")
    have = {_key(row) for row in rows}
    missing_spreads = [
        spread(tier=tier, currency=currency, settlement=settlement, spread_pct=pct)
        for (tier, currency, settlement), pct in DEFAULT_SPREADS.items()
        if _key((tier, currency, settlement)) not in have
    ]
    rows = await lp_spread.all(using_db=using_db).values_list("tier", "currency")
    have = {_key(row) for row in rows}
    missing_lp = [
        lp_spread(tier=tier, currency=currency, lp_spread_pct=pct)
        for (tier, currency), pct in DEFAULT_LP_SPREADS.items()
        if _key((tier, currency)) not in have
    ]
    # ignore_conflicts: two workers starting together may both see a row missing.
    if missing_spreads:
        await spread.bulk_create(missing_spreads, ignore_conflicts=True, using_db=using_db)
    if missing_lp:
        await lp_spread.bulk_create(missing_lp, ignore_conflicts=True, using_db=using_db)
    return len(missing_spreads) + len(missing_lp)


async def seed_controls(
    definitions: Iterable[ControlDefinition],
    *,
    apps: ModelRegistry | None = None,
    using_db: BaseDBAsyncClient | None = None,
) -> int:
    """Insert each control that has no row yet, at its default; return how many."""
    defaults: dict[str, str] = {}
    for defn in definitions:
        if defn.key in defaults:
            raise ValueError(f"control {defn.key!r} is defined twice")
        defaults[defn.key] = defn.to_text(defn.default)
    control = _model(apps, "SystemControl")
    have = {str(key) for key in await control.all(using_db=using_db).values_list("key", flat=True)}
    missing = [control(key=key, value=text) for key, text in defaults.items() if key not in have]
    if missing:
        await control.bulk_create(missing, ignore_conflicts=True, using_db=using_db)
    return len(missing)


async def seed_all(
    definitions: Iterable[ControlDefinition],
    *,
    apps: ModelRegistry | None = None,
    using_db: BaseDBAsyncClient | None = None,
) -> int:
    """Seed the grids and ``definitions`` (core and plugin controls); return rows inserted."""
    grids = await seed_grids(apps=apps, using_db=using_db)
    return grids + await seed_controls(definitions, apps=apps, using_db=using_db)


def _model(apps: ModelRegistry | None, name: str) -> type[Model]:
    if apps is None:
        model: type[Model] = getattr(models, name)
        return model
    return apps.get_model(APP_LABEL, name)


def _key(values: Iterable[object]) -> tuple[str, ...]:
    # Rows come back as enum members or plain strings depending on the model class
    # (current or historical); compare plain strings.
    return tuple(str(value) for value in values)


__all__ = [
    "DEFAULT_LP_SPREADS",
    "DEFAULT_SPREADS",
    "ModelRegistry",
    "seed_all",
    "seed_controls",
    "seed_grids",
]
