"""Shared fixtures: tiny random models built in memory, a toy labelled dataset, no network."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
MAHANEWS = REPO.parent / "shared" / "data" / "mahanews-shc"
WORDS = ["alpha", "beta", "gamma", "delta", "river", "stone", "cloud", "green", "quick", "slow", "north", "south"]
TOPICS = {"sport": "ball", "tech": "chip", "food": "rice"}  # each label has a telltale word
FAST_BENCH = [
    "benchmark.rounds=2", "benchmark.min_iterations=4", "benchmark.min_seconds=0.05",
    "benchmark.warmup=1", "benchmark.bootstrap=50", "benchmark.memory=false",
]


def tiny_tokenizer(folder: Path):
    from transformers import BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *TOPICS.values(), *"abcdefghijklmnopqrstuvwxyz"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    return BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)


def tiny_model(arch: str, labels: list[str], vocab_size: int = 64):
    """A 2-layer, 32-wide random classifier of the given architecture family."""
    import torch
    from transformers import AutoModelForSequenceClassification, BertConfig, DistilBertConfig, RobertaConfig

    torch.manual_seed(0)
    common = {"vocab_size": vocab_size, "num_labels": len(labels), "id2label": dict(enumerate(labels)),
              "label2id": {n: i for i, n in enumerate(labels)}}
    if arch == "bert":
        config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, **common)
    elif arch == "roberta":
        config = RobertaConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                               pad_token_id=0, bos_token_id=2, eos_token_id=3, type_vocab_size=1,
                               max_position_embeddings=160, **common)
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
        words = rng.sample(WORDS, 4) + [TOPICS[label]]
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


@pytest.fixture
def toy_data(tmp_path: Path) -> Path:
    """A folder with train.csv (90 rows) and dev.csv (30 rows), three labels."""
    folder = tmp_path / "data"
    write_csv(folder / "train.csv", make_rows(90, seed=1))
    write_csv(folder / "dev.csv", make_rows(30, seed=2))
    return folder


@pytest.fixture
def tiny_classifier_dir(tmp_path: Path) -> Path:
    """A saved tiny BERT classifier for the toy labels, with its tokenizer."""
    folder = tmp_path / "tiny-bert"
    tokenizer = tiny_tokenizer(tmp_path / "vocab")
    model = tiny_model("bert", sorted(TOPICS), vocab_size=len(tokenizer))
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(autouse=True)
def _no_stray_files(monkeypatch, tmp_path):
    """Libraries write caches under HOME; keep them in the test's temporary folder."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-datasets"))
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
