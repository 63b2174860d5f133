"""All passes. Importing this registers their configs; heavy code loads only when a pass runs."""

from compress.passes.base import REGISTRY, PassConfig, PassSpec, Stage, register, spec_for
from compress.passes import distill, export_onnx, finetune, precision, quantize  # noqa: F401  (registration)

__all__ = ["REGISTRY", "PassConfig", "PassSpec", "Stage", "register", "spec_for"]
