"""CUDA mixed precision: fp16 with a gradient scaler, bf16 autocast. Skipped without a GPU.

CI has no GPU; these ran on a lent H100 (see the README's "GPU" section). With a GPU present the
rest of the suite also trains on it, since the loop takes accelerate's device.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from compress.testing import setup_problem
from compress.training.loop import TrainHook, train
from compress.training.settings import RunContext, TrainingOptions

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


class RecordLogits(TrainHook):
    """Notes where the logits were computed and which autocast dtype the loss ran under (accelerate
    hands the model's outputs back in fp32, so the logits' own dtype does not tell); changes nothing."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, torch.dtype]] = set()

    def loss(self, rows, inputs, outputs, loss):
        device = outputs.logits.device.type
        dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else torch.float32
        self.seen.add((device, dtype))
        return loss


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_mixed_precision_trains_on_cuda_and_keeps_fp32_weights(toy_data, tmp_path, precision):
    model, (train_split, selection) = setup_problem(toy_data, tmp_path / "v")
    hook = RecordLogits()
    result = train(
        model,
        train_split,
        selection,
        TrainingOptions(epochs=3, batch_size=16, learning_rate=1e-3, precision=precision, track_energy=False),
        RunContext(progress=False),
        hooks=[hook],
    )
    assert result.precision["used"] == precision
    assert hook.seen == {("cuda", torch.float16 if precision == "fp16" else torch.bfloat16)}
    assert next(model.parameters()).device.type == "cpu", "the model comes back where it was"
    assert all(p.dtype == torch.float32 for p in model.parameters()), "autocast keeps master weights in fp32"
    losses = [e["train_loss"] for e in result.epochs]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]


def test_fp16_uses_a_gradient_scaler_and_bf16_does_not():
    from compress.training.accelerated import accelerator_for

    model = torch.nn.Linear(2, 2)
    with accelerator_for("fp16", model) as accelerator:
        assert isinstance(accelerator.scaler, torch.amp.GradScaler)
    with accelerator_for("bf16", model) as accelerator:
        assert accelerator.scaler is None


@pytest.mark.parametrize("dtype", ["fp16", "bf16"])
def test_cast_model_predicts_like_fp32_on_cuda(toy_data, tmp_path, dtype):
    model, (_, selection) = setup_problem(toy_data, tmp_path / "v")
    model.eval().cuda()
    inputs = {k: torch.from_numpy(v).cuda() for k, v in selection[0].batch(np.arange(len(selection[0]))).items()}
    with torch.no_grad():
        reference = model(**inputs).logits.float()
        model.to(torch.float16 if dtype == "fp16" else torch.bfloat16)  # what the `precision` pass does
        low = model(**inputs).logits.float()
    assert next(model.parameters()).dtype == (torch.float16 if dtype == "fp16" else torch.bfloat16)
    assert torch.allclose(reference, low, atol=5e-2)
