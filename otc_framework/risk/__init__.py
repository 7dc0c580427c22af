"""Risk limits of the quote path and the desk's open exposure (SPEC §10, Risk)."""

from otc_framework.risk.exposure import Exposure, open_exposure
from otc_framework.risk.limits import RiskLimits
from otc_framework.risk.publisher import ExposurePublisher
from otc_framework.risk.watch import ExposureWatch

__all__ = ["Exposure", "ExposurePublisher", "ExposureWatch", "RiskLimits", "open_exposure"]
