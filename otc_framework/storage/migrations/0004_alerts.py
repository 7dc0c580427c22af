"""The alert queue (SPEC §13): alerts as raised, and one delivery row per alert and sink."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops
from tortoise.timezone import now

from otc_framework.storage.models import AlertDeliveryStatus


class Migration(migrations.Migration):
    dependencies = [("models", "0003_audit_append_only")]

    operations = [
        ops.CreateModel(
            name='AlertRecord',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(db_index=True, max_length=64)),
                ('severity', fields.CharField(max_length=16)),
                ('title', fields.CharField(max_length=200)),
                ('detail', fields.TextField(unique=False)),
                ('dedup_key', fields.CharField(max_length=200)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'alerts', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AlertDelivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('alert', fields.ForeignKeyField('models.AlertRecord', source_field='alert_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('sink', fields.CharField(max_length=64)),
                ('status', fields.CharEnumField(default=AlertDeliveryStatus.QUEUED, description='QUEUED: queued\nRETRYING: retrying\nSENT: sent\nFAILED: failed', enum_type=AlertDeliveryStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('next_attempt_at', fields.DatetimeField(default=now, auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'alert_deliveries', 'app': 'models', 'unique_together': (('alert', 'sink'),), 'indexes': [Index(fields=['sink', 'status', 'alert_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
