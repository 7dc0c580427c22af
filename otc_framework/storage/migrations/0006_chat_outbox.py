"""The chat bot's outbound queue (SPEC §12): every reply is queued here and sent by one
delivery loop per deployment, with retries and pacing, never from the request that caused it."""

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops
from tortoise.timezone import now

from otc_framework.storage.models import ChatMessageStatus


class Migration(migrations.Migration):
    dependencies = [("models", "0005_hedge_execution")]

    operations = [
        ops.CreateModel(
            name='ChatMessage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('channel', fields.CharField(max_length=64)),
                ('chat_id', fields.CharField(max_length=128)),
                ('text', fields.TextField(unique=False)),
                ('dedup_key', fields.CharField(null=True, unique=True, max_length=200)),
                ('session_id', fields.CharField(null=True, db_index=True, max_length=64)),
                ('status', fields.CharEnumField(default=ChatMessageStatus.QUEUED, description='QUEUED: queued\nRETRYING: retrying\nSENT: sent\nFAILED: failed\nEXPIRED: expired', enum_type=ChatMessageStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('next_attempt_at', fields.DatetimeField(default=now, auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'chat_messages', 'app': 'models', 'indexes': [Index(fields=['status', 'channel', 'chat_id', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
