"""The loop trains under an `accelerate.Accelerator`: one per `train` call, in the pass's
precision, ended with the call (a caller's own Accelerator is joined and kept)."""

from __future__ import annotations

import pytest
import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState, GradientState, is_initialized

from compress.errors import CompressError
from compress.testing import setup_problem
from compress.training.loop import train
from compress.training.settings import RunContext, TrainingOptions

QUIET = RunContext(progress=False)
pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="CPU behaviour; test_cuda.py covers the GPU")


def options(precision: str) -> TrainingOptions:
    return TrainingOptions(epochs=1, batch_size=16, precision=precision, track_energy=False)


def classifier_output_dtypes(model: torch.nn.Module) -> tuple[set[torch.dtype], torch.utils.hooks.RemovableHandle]:
    """The dtypes the classification layer computes in (bf16 under CPU autocast)."""
    seen: set[torch.dtype] = set()
    layer = model.classifier
    return seen, layer.register_forward_hook(lambda _module, _args, output: seen.add(output.dtype))


@pytest.fixture
def no_accelerate_state():
    assert not is_initialized(), "a test before this one left accelerate's state behind"
    yield
    AcceleratorState._reset_state()  # only the tests that build their own Accelerator need this
    GradientState._reset_state()


def test_passes_in_different_precisions_train_in_one_process_and_leave_nothing_behind(
    toy_data, tmp_path, no_accelerate_state
):
    model, (train_split, selection) = setup_problem(toy_data, tmp_path / "v")
    for precision, dtype in [("bf16", torch.bfloat16), ("fp32", torch.float32), ("bf16", torch.bfloat16)]:
        seen, handle = classifier_output_dtypes(model)
        model.train()
        result = train(model, train_split, selection, options(precision), QUIET)
        handle.remove()
        assert result.precision["used"] == precision
        assert dtype in seen, (precision, seen)
        assert not is_initialized(), "accelerate's accelerator state is cleared after the call"
        assert "forward" not in vars(model), "the model's own forward is back (prepare wraps it in autocast)"
        assert all(p.dtype == torch.float32 for p in model.parameters())
    with torch.no_grad():  # and evaluation after training runs in fp32
        seen, handle = classifier_output_dtypes(model)
        model(**{k: torch.from_numpy(v) for k, v in selection[0].batch(list(range(4))).items()})
        handle.remove()
    assert seen == {torch.float32}


def test_a_callers_accelerator_is_joined_and_kept(toy_data, tmp_path, no_accelerate_state):
    model, (train_split, selection) = setup_problem(toy_data, tmp_path / "v")
    callers = Accelerator(mixed_precision="no", cpu=True, gradient_accumulation_steps=4)
    train(model, train_split, selection, options("fp32"), QUIET)
    assert is_initialized() and AcceleratorState().mixed_precision == "no"
    assert callers.gradient_accumulation_steps == 4, "the caller's accumulation setting survives"
    with pytest.raises(CompressError, match="already runs an accelerate Accelerator in mixed precision 'no'"):
        train(model, train_split, selection, options("bf16"), QUIET)
    assert is_initialized()
