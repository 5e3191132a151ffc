"""Networks for the dynamic-vision tasks: one backbone, interchangeable memories."""

from .models import MODELS, build_model, count_parameters

__all__ = ["MODELS", "build_model", "count_parameters"]
