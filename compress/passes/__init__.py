"""All passes. Importing this registers their configs; heavy code loads only when a pass runs."""

from compress.passes import (  # noqa: F401  (registration)
    adapt_mlm,
    block_movement,
    distill,
    export_onnx,
    finetune,
    fold,
    layer_drop,
    precision,
    quantize,
    structured_prune,
    trim_vocab,
    vocab_transfer,
)
from compress.passes.base import REGISTRY, PassConfig, PassSpec, Stage, register, spec_for

__all__ = ["REGISTRY", "PassConfig", "PassSpec", "Stage", "register", "spec_for"]
