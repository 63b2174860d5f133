"""What each model's tokenizer loses on text it was not trained on: characters lost, `[UNK]`, texts
with any `[UNK]`, tokens per text, and the characters lost most often, on a split of a task and
on lines of unlabelled text (`compress audit` does the first for one split; this adds the corpus
and the count of texts touched, to compare tokenizers trained with and without vocab_transfer's
defences against unseen characters).

    python benchmarks/unseen_characters.py --data ../shared/data/mahanews-shc --split evaluation \
        --corpus ../shared/data/marathi-unlabeled/corpus.txt --model A/model --model B/model
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    from compress.data import load_task_data, read_corpus
    from compress.loading import load_tokenizer
    from compress.vocab.audit import audit_tokenizer

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="evaluation", choices=["train", "selection", "evaluation"])
    parser.add_argument("--corpus", type=Path, help="unlabelled text, one example a line")
    parser.add_argument("--corpus-lines", type=int, default=None)
    parser.add_argument("--model", action="append", required=True)
    args = parser.parse_args()
    split = getattr(load_task_data(args.data), args.split)
    collections = {f"{split.name} split": list(split.texts)}
    if args.corpus is not None:
        collections["corpus"] = read_corpus(args.corpus, args.corpus_lines, "unseen_characters")
    print("| model | texts | characters lost | [UNK] | texts with [UNK] | tokens per text | lost most often |")
    print("|---|---|---|---|---|---|---|")
    for reference in args.model:
        tokenizer = load_tokenizer(reference)
        for name, texts in collections.items():
            audit = audit_tokenizer(tokenizer, texts)
            lost = " ".join(f"{c!r}:{n}" for c, _, n in audit.most_lost[:5])
            print(
                f"| {reference} | {name} ({len(texts)}) | {100 * audit.lost_share:.3f}% | {100 * audit.unk_share:.3f}% "
                f"| {audit.examples_with_unk} | {audit.tokens_per_example_mean:.1f} | {lost} |"
            )


if __name__ == "__main__":
    main()
