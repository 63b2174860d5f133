"""How far can trimming a vocabulary go before test text falls outside it? For a model whose
tokenizer is trimmed to the tokens of its training text (and, optionally, an unlabeled corpus),
count the test examples whose every token is kept (on those a trimmed model predicts exactly as
the untrimmed one), and what also keeping the K lowest token ids (BERT-style vocabularies list
their tokens roughly by frequency) would buy, with the parameter reduction each costs. Tokenizer
work only: no model is run.

    python benchmarks/trim_coverage.py --model runs/minilm-finetuned/model --data ../shared/data/mahanews-shc \
        --corpus ../shared/data/marathi-unlabeled/corpus.txt --keep-lowest 0 5000 10000 12000
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path

from compress.data import load_task_data


def main() -> None:
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoTokenizer

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--data", required=True)
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--keep-lowest", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    config = AutoConfig.from_pretrained(args.model)
    parameters = sum(t.numel() for t in load_file(args.model / "model.safetensors").values())
    data = load_task_data(args.data)
    texts = list(data.train.texts)
    if args.corpus is not None:
        texts += args.corpus.read_text(encoding="utf-8").splitlines()
    used = {i for text in texts for i in tokenizer(text)["input_ids"]} | set(tokenizer.all_special_ids)
    tests = [tokenizer(text)["input_ids"] for text in data.evaluation.texts]
    missing = collections.Counter(i for ids in tests for i in ids if i not in used)
    kinds = collections.Counter()
    for token_id, count in missing.items():
        piece = tokenizer.convert_ids_to_tokens(token_id).removeprefix("##")
        kind = "digits" if piece.isdigit() else "latin letters" if piece.isascii() and piece.isalpha() else "other"
        kinds[kind] += count
    print(f"{args.model}: {len(tokenizer)} tokens, {parameters / 1e6:.1f} M parameters; {len(tests)} test examples")
    print(f"test tokens the kept text never uses, by kind (occurrences): {json.dumps(dict(kinds.most_common()))}")
    print("\n| kept | tokens | test examples with every token kept | parameters removed | smaller |")
    print("|---|---|---|---|---|")
    for lowest in args.keep_lowest:
        kept = used | set(range(lowest))
        covered = sum(all(i in kept for i in ids) for ids in tests)
        removed = (len(tokenizer) - len(kept)) * config.hidden_size
        label = "the text's tokens" + (f" + ids below {lowest}" if lowest else "")
        print(
            f"| {label} | {len(kept)} | {covered} ({100 * covered / len(tests):.1f}%) | {removed / 1e6:.2f} M | "
            f"{parameters / (parameters - removed):.2f}x |"
        )


if __name__ == "__main__":
    main()
