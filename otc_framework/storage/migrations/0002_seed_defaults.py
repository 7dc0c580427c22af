"""Seed the spread grids and the core controls on first migration (SPEC §4, §8).

Seeding inserts only missing rows, so re-applying after a rollback keeps operators' values.
The reverse is a no-op: rolling back to 0001 keeps the rows, and rolling back past 0001
drops the tables anyway.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

from otc_framework.controls import CORE_CONTROLS
from otc_framework.storage.seed import seed_controls, seed_grids


async def seed_defaults(apps, schema_editor) -> None:
    await seed_grids(apps=apps, using_db=schema_editor.client)
    await seed_controls(CORE_CONTROLS, apps=apps, using_db=schema_editor.client)


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    operations = [
        ops.RunPython(seed_defaults, ops.RunPython.noop),
    ]
