"""Make ``audit_logs`` append-only in the database itself (SPEC §14).

The model already refuses updates and deletes; these triggers also stop raw SQL, another
client of the same database, or a future bug in the ORM layer from rewriting history.
Both dialects report the refusal as an integrity error.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

from otc_framework.errors import ConfigError

_POSTGRES_FORWARD = """
CREATE FUNCTION otc_audit_logs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_logs rows are append-only' USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER audit_logs_append_only BEFORE UPDATE OR DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION otc_audit_logs_append_only();
CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION otc_audit_logs_append_only();
"""

_POSTGRES_BACKWARD = """
DROP TRIGGER IF EXISTS audit_logs_no_truncate ON audit_logs;
DROP TRIGGER IF EXISTS audit_logs_append_only ON audit_logs;
DROP FUNCTION IF EXISTS otc_audit_logs_append_only();
"""

_SQLITE_FORWARD = """
CREATE TRIGGER audit_logs_no_update BEFORE UPDATE ON audit_logs
BEGIN SELECT RAISE(ABORT, 'audit_logs rows are append-only'); END;
CREATE TRIGGER audit_logs_no_delete BEFORE DELETE ON audit_logs
BEGIN SELECT RAISE(ABORT, 'audit_logs rows are append-only'); END;
"""

_SQLITE_BACKWARD = """
DROP TRIGGER IF EXISTS audit_logs_no_delete;
DROP TRIGGER IF EXISTS audit_logs_no_update;
"""

_SQL = {
    "postgres": (_POSTGRES_FORWARD, _POSTGRES_BACKWARD),
    "sqlite": (_SQLITE_FORWARD, _SQLITE_BACKWARD),
}


def _script(schema_editor, direction: int) -> str:
    dialect = schema_editor.client.capabilities.dialect
    if dialect not in _SQL:
        raise ConfigError(f"database: audit_logs triggers exist for PostgreSQL and SQLite, not {dialect}")
    return _SQL[dialect][direction]


async def add_triggers(apps, schema_editor) -> None:
    await schema_editor.client.execute_script(_script(schema_editor, 0))


async def drop_triggers(apps, schema_editor) -> None:
    await schema_editor.client.execute_script(_script(schema_editor, 1))


class Migration(migrations.Migration):
    dependencies = [("models", "0002_seed_defaults")]

    operations = [
        ops.RunPython(add_triggers, drop_triggers),
    ]
