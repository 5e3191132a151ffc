"""Networks for the dynamic-vision tasks: one backbone, interchangeable memories."""

from .models import MATCHED, MODELS, build_model, count_parameters, matched_width

__all__ = ["MODELS", "MATCHED", "build_model", "count_parameters", "matched_width"]
