"""The audit trail (SPEC §14): the core writes every row; plugins report, never write."""

from otc_framework.audit.trail import AuditRow, append, record

__all__ = ["AuditRow", "append", "record"]
