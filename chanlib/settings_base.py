"""The base of every typed settings model (params, forecast, segment): unknown keys are errors.

Kept apart from :mod:`chanlib.config` so the capability subpackages can define their settings without importing the
whole params module.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Base for every params model: unknown keys are errors, defaults are validated too."""

    model_config = ConfigDict(extra="forbid", strict=False, validate_default=True)
