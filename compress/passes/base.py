"""The pass registry: each pass is a frozen config model plus one function.

A recipe is a list of these configs. The registry is what lets `compress validate`
check a recipe without importing torch: configs live here, the heavy code is
imported only when a pass function runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from compress.artifact import Artifact


class PassConfig(BaseModel):
    """Base for every pass config: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Stage(StrEnum):
    """Where a pass works: on the PyTorch model, or on ONNX files after export."""

    TORCH = "torch"
    EXPORT = "export"
    ONNX = "onnx"


# A pass returns the next artifact and a dict of what it measured; the runner records both.
# (typed on Any: each function takes its own PassConfig subclass, which Callable cannot express)
PassFunction = Callable[[Any, "Artifact"], "tuple[Artifact, dict[str, Any]]"]


@dataclass(frozen=True)
class PassSpec:
    name: str
    config: type[PassConfig]
    stage: Stage
    function: PassFunction
    summary: str
    trains_head: bool = False  # may start from a model without a classifier for the data's labels
    changes_tokenizer: bool = False  # the artifact leaves with another tokenizer (and embedding)
    uses_head: bool = True  # reads or trains the classification head (False: passes it through untouched)
    changes_dtype: bool = False  # leaves the weights in a lower precision: nothing may train or export after it


REGISTRY: dict[str, PassSpec] = {}


def register(
    name: str,
    config: type[PassConfig],
    stage: Stage,
    summary: str,
    *,
    trains_head: bool = False,
    changes_tokenizer: bool = False,
    uses_head: bool = True,
    changes_dtype: bool = False,
) -> Callable[[PassFunction], PassFunction]:
    """Register `function` as the implementation of pass `name`, with the facts it declares."""

    def decorate(function: PassFunction) -> PassFunction:
        if name in REGISTRY:
            raise ValueError(f"pass {name!r} registered twice")
        REGISTRY[name] = PassSpec(
            name, config, stage, function, summary, trains_head, changes_tokenizer, uses_head, changes_dtype
        )
        return function

    return decorate


def spec_for(config: PassConfig) -> PassSpec:
    for spec in REGISTRY.values():
        if type(config) is spec.config:
            return spec
    raise KeyError(f"no pass registered for {type(config).__name__}")
