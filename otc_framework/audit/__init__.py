"""The audit trail (SPEC §14): the core writes every row; plugins report, never write."""

from otc_framework.audit.record import record

__all__ = ["record"]
