"""Masked-LM training through the one loop: a hook that masks each batch, and a held-out score.

Continued pretraining on unlabeled text of the task's language (Gururangan et al. 2020,
"Don't Stop Pretraining") teaches a model words it has never seen, which is the state of a
model right after a vocabulary transfer. The classifier's encoder is carried into a masked-LM
model (a new prediction head, its decoder tied to the input embeddings, as BERT's is), trained
there, and carried back. Masking is transformers' `DataCollatorForLanguageModeling` (80% [MASK],
10% random, 10% kept), seeded from the batch's rows, so a resumed run masks as the first did.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from compress.batching import Encoded
from compress.errors import CompressError
from compress.training.loop import TrainHook


def masked_lm_over(classifier: Any, seed: int) -> Any:
    """A masked-LM model of the classifier's architecture whose encoder holds the classifier's weights."""
    from transformers import AutoModelForMaskedLM

    with torch.random.fork_rng(devices=[]):  # the new head's initialisation leaves the global RNG as it was
        torch.manual_seed(seed)
        model = AutoModelForMaskedLM.from_config(classifier.config)
    copy_encoder(classifier, model)
    model.tie_weights()
    return model


def copy_encoder(source: Any, target: Any) -> None:
    """Load `source`'s encoder weights into `target`'s. The encoders may differ only by parts one of
    them lacks (BERT's classifier has a pooler, its masked-LM model none); every weight of the
    smaller encoder must be found in the larger."""
    giving = getattr(source, source.base_model_prefix).state_dict()
    taking = getattr(target, target.base_model_prefix)
    wanted = taking.state_dict()
    smaller, larger = (giving, wanted) if len(giving) <= len(wanted) else (wanted, giving)
    unmatched = [k for k in smaller if k not in larger or smaller[k].shape != larger[k].shape]
    if unmatched:
        raise CompressError(
            f"adapt_mlm: the masked-LM model's encoder does not match the classifier's ({unmatched[0]})"
        )
    taking.load_state_dict({k: v for k, v in giving.items() if k in wanted}, strict=False)


def special_positions(input_ids: torch.Tensor, attention_mask: torch.Tensor | None, tokenizer: Any) -> torch.Tensor:
    special = torch.isin(input_ids, torch.tensor(sorted(set(tokenizer.all_special_ids)), device=input_ids.device))
    return special | (attention_mask == 0) if attention_mask is not None else special


def mask_batch(
    input_ids: torch.Tensor, attention_mask: torch.Tensor | None, tokenizer: Any, probability: float, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(masked inputs, labels with -100 where nothing is to be predicted); padding and special tokens stay.
    A batch of short texts where chance picked nothing gets one position picked, so its loss is defined."""
    from transformers import DataCollatorForLanguageModeling

    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=probability)
    collator.generator = collator.get_generator(seed)
    device, special = input_ids.device, special_positions(input_ids, attention_mask, tokenizer).cpu()
    masked, labels = collator.torch_mask_tokens(input_ids.cpu().clone(), special)
    eligible = (~special).nonzero()
    if (labels == -100).all() and len(eligible):
        row, column = eligible[int(torch.randint(len(eligible), (1,), generator=collator.generator))]
        labels[row, column], masked[row, column] = input_ids[row, column], tokenizer.mask_token_id
    return masked.to(device), labels.to(device)


def _batch_seed(seed: int, rows: np.ndarray) -> int:
    return int(np.random.SeedSequence([seed, *map(int, rows)]).generate_state(1)[0])


class MaskedLanguageModeling(TrainHook):
    """Replaces the task's labels with masked-LM targets: the model learns to restore masked tokens."""

    def __init__(self, tokenizer: Any, probability: float, seed: int) -> None:
        self.tokenizer, self.probability, self.seed = tokenizer, probability, seed
        self._nothing_to_predict = False

    def model_inputs(self, rows: np.ndarray, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        masked, labels = mask_batch(
            batch["input_ids"],
            batch.get("attention_mask"),
            self.tokenizer,
            self.probability,
            _batch_seed(self.seed, rows),
        )
        self._nothing_to_predict = bool((labels == -100).all())
        return {**batch, "input_ids": masked, "labels": labels}

    def loss(self, rows: np.ndarray, inputs: dict[str, torch.Tensor], outputs: Any, loss: torch.Tensor) -> torch.Tensor:
        """A batch of nothing but special tokens predicts nothing: zero, not the NaN of an empty mean."""
        return outputs.logits.sum() * 0.0 if self._nothing_to_predict else loss


@torch.no_grad()
def heldout_loss(
    model: Any, encoded: Encoded, tokenizer: Any, probability: float, seed: int, batch_size: int = 64
) -> float:
    """Mean masked-LM loss per masked token over held-out text, masked the same way at every call."""
    model.eval()
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for start in range(0, len(encoded), batch_size):
        rows = np.arange(start, min(len(encoded), start + batch_size))
        inputs = {k: torch.from_numpy(v).to(device) for k, v in encoded.batch(rows).items()}
        masked, labels = mask_batch(
            inputs["input_ids"], inputs.get("attention_mask"), tokenizer, probability, _batch_seed(seed, rows)
        )
        logits = model(**{**inputs, "input_ids": masked}).logits
        picked = labels != -100
        if picked.any():
            loss = torch.nn.functional.cross_entropy(logits[picked].float(), labels[picked], reduction="sum")
            total, count = total + float(loss), count + int(picked.sum())
    return total / max(count, 1)
