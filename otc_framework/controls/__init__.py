"""Runtime controls (SPEC §8): typed settings admins change without a restart."""

from otc_framework.controls.catalog import CORE_CONTROLS
from otc_framework.controls.definition import ControlDefinition, ControlKind

__all__ = ["CORE_CONTROLS", "ControlDefinition", "ControlKind"]
