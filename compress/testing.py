"""Tiny random classifiers and toy labelled data, built in memory: what the test suite, CI's
smoke steps and users' own tests of compress outputs build on (no network, seconds to make)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

WORDS = ["alpha", "beta", "gamma", "delta", "river", "stone", "cloud", "green", "quick", "slow", "north", "south"]
TOPICS = {"sport": "ball", "tech": "chip", "food": "rice"}  # each label has a telltale word


def tiny_tokenizer(folder: Path) -> Any:
    """A word-level BERT WordPiece tokenizer over WORDS, the topic words and single letters."""
    from transformers import BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *TOPICS.values(), *"abcdefghijklmnopqrstuvwxyz"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    return BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)


def tiny_model(arch: str, labels: list[str], vocab_size: int = 64) -> Any:
    """A 2-layer, 32-wide random classifier of the given architecture family."""
    import torch
    from transformers import AutoModelForSequenceClassification, BertConfig, DistilBertConfig, RobertaConfig

    torch.manual_seed(0)
    common = {
        "vocab_size": vocab_size,
        "num_labels": len(labels),
        "id2label": dict(enumerate(labels)),
        "label2id": {n: i for i, n in enumerate(labels)},
    }
    config: Any
    if arch == "bert":
        config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, **common)
    elif arch == "roberta":
        config = RobertaConfig(
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=64,
            pad_token_id=0,
            bos_token_id=2,
            eos_token_id=3,
            type_vocab_size=1,
            max_position_embeddings=160,
            **common,
        )
    elif arch == "distilbert":
        config = DistilBertConfig(dim=32, n_layers=2, n_heads=4, hidden_dim=64, **common)
    else:
        raise ValueError(arch)
    return AutoModelForSequenceClassification.from_config(config).eval()


def make_rows(n: int, seed: int, labels=tuple(TOPICS)) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = labels[i % len(labels)]
        words = [*rng.sample(WORDS, 4), TOPICS[label]]
        rng.shuffle(words)
        rows.append((" ".join(words), label))
    return rows


def write_csv(path: Path, rows, header=("text", "label")) -> Path:
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_tiny_case(folder: Path, train_rows: int = 240, dev_rows: int = 120) -> Path:
    """A saved tiny BERT classifier (folder/model) and toy data (folder/data/{train,dev}.csv)."""
    tokenizer = tiny_tokenizer(folder / "vocab")
    model = tiny_model("bert", sorted(TOPICS), vocab_size=len(tokenizer))
    model.save_pretrained(folder / "model", safe_serialization=True)
    tokenizer.save_pretrained(folder / "model")
    write_csv(folder / "data" / "train.csv", make_rows(train_rows, seed=1))
    write_csv(folder / "data" / "dev.csv", make_rows(dev_rows, seed=2))
    return folder


def tiny_artifact(folder: Path, data: Path, arch: str = "bert", **extra: Any) -> Any:
    """The artifact a run would hand its first pass: a tiny classifier of `arch` saved to
    `folder`, loaded back through the one loader (so it is its own `source`, e.g. a default
    teacher), with its tokenizer and the data at `data`."""
    from compress.artifact import Artifact
    from compress.data import load_task_data
    from compress.loading import load_model
    from compress.models import resolve_model

    task = load_task_data(str(data))
    tokenizer = tiny_tokenizer(folder / "vocab")
    if arch == "distilbert":  # its own tokenizer class: no segment ids
        from transformers import DistilBertTokenizerFast

        tokenizer = DistilBertTokenizerFast(vocab_file=str(folder / "vocab" / "vocab.txt"))
    saved = folder / f"tiny-{arch}"
    tiny_model(arch, list(task.label_map.names), vocab_size=len(tokenizer)).save_pretrained(saved)
    tokenizer.save_pretrained(saved)
    source = resolve_model(str(saved))
    loaded = load_model(source, task.label_map.names)
    workdir = folder / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    return Artifact(
        loaded.model,
        loaded.tokenizer,
        task.with_label_order(loaded.label_order),
        workdir,
        max_length=32,
        seed=0,
        source=source,
        label_order=loaded.label_order,
        **extra,
    )


def setup_problem(data_folder: Path, vocab_folder: Path, dropout: float = 0.0) -> tuple[Any, list[Any]]:
    """A tiny BERT classifier and the toy data's encoded (train, selection) splits, for the loop itself."""
    import torch

    from compress.batching import encode
    from compress.data import load_task_data

    data = load_task_data(str(data_folder))
    tokenizer = tiny_tokenizer(vocab_folder)
    model = tiny_model("bert", list(data.label_map.names), vocab_size=len(tokenizer))
    if not dropout:
        for module in model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0
    splits = [(encode(tokenizer, s.texts, 32), s.labels) for s in (data.train, data.selection)]
    return model, splits


def weights(model: Any) -> dict[str, Any]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def logits(model: Any, split: Any) -> Any:
    from compress.predictors import TorchPredictor, predict_logits

    return predict_logits(TorchPredictor("m", model), split[0])


def assert_same_weights(a: dict[str, Any], b: dict[str, Any], atol: float = 1e-6) -> None:
    import torch

    for name in a:
        assert torch.allclose(a[name], b[name], atol=atol), name
