"""A pruned model that loads with transformers alone: a small modeling file beside the weights.

`fold` leaves layers with different numbers of heads and FFN widths, which `from_pretrained`
cannot build from a standard config. Hugging Face's own answer for non-standard shapes is
custom code named in `config.auto_map`; so the saved folder gets `modeling_compress_pruned.py`
(written for this model's architecture, importing nothing from compress) and
`AutoModelForSequenceClassification.from_pretrained(path, trust_remote_code=True)` loads it
(so do `pipeline`, TorchServe or anything else built on transformers).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compress.architectures import architecture
from compress.pruning.folding import LAYOUT_KEY

MODULE = "modeling_compress_pruned"
CLASS = "PrunedForSequenceClassification"

TEMPLATE = '''"""Loads a classifier whose encoder layers compress pruned to different sizes (config.{layout_key}).

Written by compress beside the weights so that transformers alone can load it:
    AutoModelForSequenceClassification.from_pretrained(PATH, trust_remote_code=True)
"""

import torch
from transformers import {base}

LAYERS = {layers!r}
SELF_ATTENTION = {self_attention!r}
QUERY_KEY_VALUE = ({query!r}, {key!r}, {value!r})
ATTENTION_OUTPUT = {attention_output!r}
FFN_IN, FFN_OUT = {ffn_in!r}, {ffn_out!r}


def _swap(layer, name, in_features, out_features):
    old = layer.get_submodule(name)
    parent, _, leaf = name.rpartition(".")
    new = torch.nn.Linear(in_features or old.in_features, out_features or old.out_features, bias=old.bias is not None)
    setattr(layer.get_submodule(parent) if parent else layer, leaf, new)


class {cls}({base}):
    """{base} with per-layer head counts and FFN widths from config.{layout_key}."""

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        shape = getattr(config, "{layout_key}")
        for layer, heads, width in zip(self.get_submodule(LAYERS), shape["heads"], shape["intermediate"]):
            attention = layer.get_submodule(SELF_ATTENTION)
            size = heads * attention.attention_head_size
            for name in QUERY_KEY_VALUE:
                _swap(layer, name, None, size)
            _swap(layer, ATTENTION_OUTPUT, size, None)
            attention.num_attention_heads, attention.all_head_size = heads, size
            _swap(layer, FFN_IN, None, width)
            _swap(layer, FFN_OUT, width, None)
'''


def add_standalone_loader(model: Any, folder: Path) -> bool:
    """If `model` is folded, write the modeling file into `folder` and name it in the config's
    auto_map (before `save_pretrained`); returns whether it did."""
    if not getattr(model.config, LAYOUT_KEY, None):
        return False
    arch = architecture(model.config.model_type)
    folder.mkdir(parents=True, exist_ok=True)
    code = TEMPLATE.format(
        layout_key=LAYOUT_KEY,
        base=type(model).__name__,
        layers=arch.layers,
        cls=CLASS,
        self_attention=arch.self_attention,
        query=arch.query,
        key=arch.key,
        value=arch.value,
        attention_output=arch.attention_output,
        ffn_in=arch.ffn_in,
        ffn_out=arch.ffn_out,
    )
    (folder / f"{MODULE}.py").write_text(code, encoding="utf-8")
    model.config.auto_map = {"AutoModelForSequenceClassification": f"{MODULE}.{CLASS}"}
    return True
