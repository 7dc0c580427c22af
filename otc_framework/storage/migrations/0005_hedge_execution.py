"""The execution engine's hedges (SPEC §10): the hedge intent written with every closing, its
state machine's columns, and one row per venue execution.

``hedges`` had no writer before this migration (the table was reserved in 0001), so it is
rebuilt rather than altered column by column, which SQLite cannot do for nullability; the
migration refuses to run over a table that somehow holds rows.
"""

from decimal import Decimal
from uuid import uuid4

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from otc_framework.errors import ConfigError
from otc_framework.storage.models import Currency, HedgeStatus, Settlement, Side


async def refuse_if_hedged(apps, schema_editor) -> None:
    _, rows = await schema_editor.client.execute_query("SELECT COUNT(*) AS n FROM hedges")
    if rows and int(dict(rows[0])["n"]):
        raise ConfigError("database: table hedges holds rows written outside the desk; move them away first")


async def nothing(apps, schema_editor) -> None:
    return None


class Migration(migrations.Migration):
    dependencies = [("models", "0004_alerts")]

    operations = [
        ops.RunPython(refuse_if_hedged, nothing),
        ops.DeleteModel(name="Hedge"),
        ops.CreateModel(
            name="Hedge",
            fields=[
                ("id", fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ("closing", fields.OneToOneField("models.Closing", source_field="closing_id", db_constraint=True, to_field="id", related_name="hedge", on_delete=OnDelete.RESTRICT)),
                ("status", fields.CharEnumField(default=HedgeStatus.PENDING, description="PENDING: pending\nHELD: held\nQUOTING: quoting\nEXECUTING: executing\nUNKNOWN: unknown\nFILLED: filled\nFAILED: failed\nSKIPPED: skipped", enum_type=HedgeStatus, max_length=16)),
                ("reason", fields.TextField(null=True, unique=False)),
                ("side", fields.CharEnumField(description="BUY: BUY\nSELL: SELL", enum_type=Side, max_length=8)),
                ("currency", fields.CharEnumField(description="USDT: USDT\nUSDC: USDC", enum_type=Currency, max_length=8)),
                ("settlement", fields.CharEnumField(description="D0: D0\nD1: D1\nD2: D2", enum_type=Settlement, max_length=4)),
                ("amount", fields.DecimalField(max_digits=24, decimal_places=6)),
                ("client_price", fields.DecimalField(max_digits=18, decimal_places=4)),
                ("provider", fields.CharField(null=True, max_length=64)),
                ("attempt", fields.IntField(default=0)),
                ("client_order_id", fields.CharField(null=True, unique=True, max_length=64)),
                ("quote_id", fields.CharField(null=True, max_length=128)),
                ("quote_price", fields.DecimalField(null=True, max_digits=18, decimal_places=8)),
                ("quote_valid_until", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("filled_amount", fields.DecimalField(default=Decimal("0"), max_digits=24, decimal_places=6)),
                ("fill_price", fields.DecimalField(null=True, max_digits=18, decimal_places=8)),
                ("chunks", fields.IntField(default=0)),
                ("spread_capture_bps", fields.DecimalField(null=True, max_digits=12, decimal_places=1)),
                ("venue_reference", fields.CharField(null=True, max_length=200)),
                ("released_by", fields.CharField(null=True, max_length=200)),
                ("next_check_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("checks", fields.IntField(default=0)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ("filled_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={"table": "hedges", "app": "models", "indexes": [Index(fields=["status", "created_at"]), Index(fields=["created_at"])], "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="HedgeExecution",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("hedge", fields.ForeignKeyField("models.Hedge", source_field="hedge_id", db_constraint=True, to_field="id", related_name="executions", on_delete=OnDelete.RESTRICT)),
                ("attempt", fields.IntField()),
                ("provider", fields.CharField(max_length=64)),
                ("client_order_id", fields.CharField(max_length=64)),
                ("execution_id", fields.CharField(max_length=128)),
                ("amount", fields.DecimalField(max_digits=24, decimal_places=6)),
                ("price", fields.DecimalField(max_digits=18, decimal_places=8)),
                ("executed_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("recorded_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "hedge_executions", "app": "models", "unique_together": (("hedge", "execution_id"),), "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
