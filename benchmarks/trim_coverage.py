"""How far can trimming a vocabulary go before test text falls outside it? For a model whose
tokenizer is trimmed to the tokens of its training text (and, optionally, an unlabeled corpus),
count (keeping every one-character token of the scripts seen too, the pass's default) the test
examples whose every token is kept (on those a trimmed model predicts exactly as
the untrimmed one), and what also keeping the K lowest token ids (BERT-style vocabularies list
their tokens roughly by frequency) would buy, with the parameter reduction each costs. Tokenizer
work only, unless `--agreement`: then each kept set is applied to the model (`compress.vocab.trim`,
what `trim_vocab` does) and its test predictions are compared with the untrimmed model's.

    python benchmarks/trim_coverage.py --model runs/minilm-finetuned/model --data ../shared/data/mahanews-shc \
        --corpus ../shared/data/marathi-unlabeled/corpus.txt --keep-lowest 0 5000 10000 12000 [--agreement]
"""

from __future__ import annotations

import argparse
import collections
import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from compress.data import load_task_data
from compress.vocab.trim import tokens_to_keep, trim_embeddings, trim_tokenizer


def predictions(model: Any, tokenizer: Any, texts: Sequence[str], batch_size: int = 64) -> list[int]:
    import torch

    labels: list[int] = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            chunk = list(texts[start : start + batch_size])
            batch = tokenizer(chunk, padding=True, truncation=True, return_tensors="pt")
            labels += model(**batch).logits.argmax(-1).tolist()
    return labels


def main() -> None:
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoTokenizer

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--data", required=True)
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--keep-lowest", type=int, nargs="+", default=[0])
    parser.add_argument("--agreement", action="store_true", help="run the trimmed models and compare predictions")
    args = parser.parse_args()
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    config = AutoConfig.from_pretrained(args.model)
    parameters = sum(t.numel() for t in load_file(args.model / "model.safetensors").values())
    data = load_task_data(args.data)
    texts = list(data.train.texts)
    if args.corpus is not None:
        texts += args.corpus.read_text(encoding="utf-8").splitlines()
    used = tokens_to_keep(tokenizer, texts, keep_characters=True)  # what `trim_vocab` keeps by default
    tests = [tokenizer(text)["input_ids"] for text in data.evaluation.texts]
    missing = collections.Counter(i for ids in tests for i in ids if i not in used)
    kinds = collections.Counter()
    for token_id, count in missing.items():
        piece = tokenizer.convert_ids_to_tokens(token_id).removeprefix("##")
        kind = "digits" if piece.isdigit() else "latin letters" if piece.isascii() and piece.isalpha() else "other"
        kinds[kind] += count
    print(f"{args.model}: {len(tokenizer)} tokens, {parameters / 1e6:.1f} M parameters; {len(tests)} test examples")
    print(f"test tokens the kept text never uses, by kind (occurrences): {json.dumps(dict(kinds.most_common()))}")
    if args.agreement:
        from transformers import AutoModelForSequenceClassification

        model = AutoModelForSequenceClassification.from_pretrained(args.model).eval()
        reference = predictions(model, tokenizer, data.evaluation.texts)
    print(
        "\n| kept | tokens | test examples with every token kept | parameters removed | smaller |"
        + (" agreement: kept / not / all |" if args.agreement else "")
    )
    print("|---|---|---|---|---|" + ("---|" if args.agreement else ""))
    for lowest in args.keep_lowest:
        kept = used | set(range(lowest))
        whole = [all(i in kept for i in ids) for ids in tests]
        covered = sum(whole)
        removed = (len(tokenizer) - len(kept)) * config.hidden_size
        label = "the text's tokens" + (f" + ids below {lowest}" if lowest else "")
        line = (
            f"| {label} | {len(kept)} | {covered} ({100 * covered / len(tests):.1f}%) | {removed / 1e6:.2f} M | "
            f"{parameters / (parameters - removed):.2f}x |"
        )
        if args.agreement:
            trimmed = trim_tokenizer(tokenizer, kept)
            student = copy.deepcopy(model)
            trim_embeddings(student, trimmed.kept_ids, trimmed.tokenizer.pad_token_id)
            labels = predictions(student, trimmed.tokenizer, data.evaluation.texts)
            same = [a == b for a, b in zip(labels, reference, strict=True)]
            inside = [s for s, w in zip(same, whole, strict=True) if w]
            outside = [s for s, w in zip(same, whole, strict=True) if not w]
            line += (
                f" {100 * sum(inside) / max(1, len(inside)):.1f}% / {100 * sum(outside) / max(1, len(outside)):.1f}%"
                f" / {100 * sum(same) / len(same):.1f}% |"
            )
        print(line)


if __name__ == "__main__":
    main()
