"""Realized size: parameters and forward FLOPs of the encoder, from the actual module shapes."""

from __future__ import annotations

from typing import Any

from compress.architectures import architecture, encoder_layers


def encoder_cost(model: Any, sequence_length: int = 64) -> dict[str, float]:
    """Multiply-adds x2 of one sequence through the encoder layers (embeddings and head excluded)."""
    arch = architecture(model.config.model_type)
    flops, parameters = 0.0, 0
    for layer in encoder_layers(model):
        linears = [
            layer.get_submodule(n)
            for n in (arch.query, arch.key, arch.value, arch.attention_output, arch.ffn_in, arch.ffn_out)
        ]
        parameters += sum(linear.weight.numel() for linear in linears)
        flops += sum(2 * sequence_length * linear.in_features * linear.out_features for linear in linears)
        attention_width = layer.get_submodule(arch.query).out_features
        flops += 2 * 2 * sequence_length * sequence_length * attention_width  # scores and weighted values
    return {"linear_parameters": parameters, "flops": flops, "sequence_length": sequence_length}
