"""`python -m layerguard verify`: after the deploy, prove in the live account what the preview
proved on the plan (the routing guide's third step, "validate"). See README, "After the deploy:
verify"."""

from .findings import CHECKS, Finding, Report
from .state import StateError, from_preview, load

__all__ = ["CHECKS", "Finding", "Report", "StateError", "from_preview", "load"]
