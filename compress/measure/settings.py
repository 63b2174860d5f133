"""How a benchmark measures: a recipe's `benchmark:` section, also built by `compress bench` and the API.

It lives with the measurement code that reads it; the recipe layer only parses it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class BenchmarkConfig(BaseModel):
    """How baseline and outputs are measured; defaults favour trustworthy numbers over speed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    threads: int | None = Field(None, ge=1, description="default: physical cores")
    batch_size: int = Field(32, ge=1)
    warmup: int = Field(10, ge=0)
    min_iterations: int = Field(200, ge=1)
    min_seconds: float = Field(8.0, ge=0)
    rounds: int = Field(5, ge=1)
    eval_limit: int | None = Field(None, ge=1, description="evaluate on N held-out examples drawn at random (seeded)")
    bootstrap: int = Field(1000, ge=0)
    memory: bool = True
    classical_baseline: bool = Field(True, description="also measure a character n-gram TF-IDF + linear SVM row")
    non_inferiority_margin: float = Field(
        1.0, ge=0, description="points: a row is non-inferior when its paired 95% interval's lower end is >= -margin"
    )
