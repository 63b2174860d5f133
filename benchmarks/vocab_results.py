"""Tables for benchmarks/VOCAB_RESULTS.md from the runs of benchmarks/vocab_study.sh and two
`compress bench` runs on a quiet machine (see VOCAB_RESULTS.md for the commands).

    python benchmarks/vocab_results.py --runs runs/vocab
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from compress.measure.metrics import paired_change
from compress.report.study import group_change, mean_spread


def load(path: Path) -> dict:
    return json.loads((path / "report.json").read_text(encoding="utf-8"))


def row(report: dict, name: str) -> dict:
    rows = [report["benchmark"]["baseline"], *report["benchmark"]["candidates"]]
    return next(r for r in rows if r["name"] == name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, default=Path("runs/vocab"))
    args = parser.parse_args()
    runs = args.runs
    teachers = sorted(runs.glob("teacher-s*"), key=lambda p: p.name)
    teachers = [t for t in teachers if (t / "report.json").is_file()]
    first = load(runs / "teacher-s42") if (runs / "teacher-s42" / "report.json").is_file() else load(teachers[0])
    targets = np.array(first["benchmark"]["evaluation"]["targets"])
    classical = row(first, "classical: char 1-4-gram TF-IDF + linear SVM")
    print("## Audit (test split, 2,364 headlines)\n")
    print(
        "| tokenizer | characters lost | of which by normalization | [UNK] | tokens per headline (p95) | "
        "vocabulary used |"
    )
    print("|---|---|---|---|---|---|")
    for label, audit in (
        ("MiniLM (bert-base-uncased vocabulary)", first["benchmark"]["baseline"]["tokenizer"]),
        ("vocab_transfer, 8k WordPiece on train (seed 42)", row(first, "pytorch fp32")["tokenizer"]),
    ):
        away = audit["characters_normalized_away"] / audit["characters"]
        print(
            f"| {label} | {100 * audit['lost_share']:.1f}% | {100 * away:.1f}% | {100 * audit['unk_share']:.2f}% "
            f"| {audit['tokens_per_example_mean']:.1f} ({audit['tokens_per_example_p95']:.0f}) "
            f"| {audit['vocabulary_used']}/{audit['vocabulary_size']} |"
        )
    print("\n## Accuracy on test\n")
    print(
        "| model | seeds | accuracy % | macro-F1 % | change vs classical, points [paired 95% CI] | best epoch (dev) |"
    )
    print("|---|---|---|---|---|---|")
    classical_pred = np.array(classical["predictions"])
    print(
        f"| classical: char 1-4-gram TF-IDF + linear SVM | 1 | {100 * classical['quality']['accuracy']['value']:.1f} "
        f"| {100 * classical['quality']['macro_f1']['value']:.1f} | - | - |"
    )
    groups = {
        "MiniLM vocabulary, fine-tuned (old teacher)": [
            p for p in [runs / "minilm-teacher-s42"] if (p / "report.json").is_file()
        ],
        "vocab_transfer + fine-tuning (new teacher)": teachers,
        "vocab_transfer + masked-LM adaptation + fine-tuning": sorted(
            p for p in runs.glob("teacher-mlm-s*") if (p / "report.json").is_file()
        ),
    }
    for label, folders in groups.items():
        if not folders:
            continue
        entries = [row(load(f), "pytorch fp32") for f in folders]
        change = paired_change(targets, classical_pred, [np.array(e["predictions"]) for e in entries])
        epochs = [str(load(f)["passes"][-1]["details"]["best_epoch"]) for f in folders]
        print(
            f"| {label} | {len(folders)} | {mean_spread([100 * e['quality']['accuracy']['value'] for e in entries])} "
            f"| {mean_spread([100 * e['quality']['macro_f1']['value'] for e in entries])} "
            f"| {change['value']:+.1f} [{change['ci_low']:+.1f}, {change['ci_high']:+.1f}] | {', '.join(epochs)} |"
        )
    adapted = groups["vocab_transfer + masked-LM adaptation + fine-tuning"]
    if adapted and teachers:
        before = [np.array(row(load(f), "pytorch fp32")["predictions"]) for f in teachers]
        after = [np.array(row(load(f), "pytorch fp32")["predictions"]) for f in adapted]
        effect = group_change(targets, before, after)
        mlm = next(p["details"] for p in load(adapted[0])["passes"] if p["name"] == "adapt_mlm")
        print(
            f"\nMasked-LM adaptation against none ({len(adapted)} seeds against {len(teachers)}, each side "
            f"averaged over its seeds): {effect['value']:+.1f} points [paired 95% CI {effect['ci_low']:+.1f}, "
            f"{effect['ci_high']:+.1f}]. Adaptation: {mlm['texts']['train']} texts, {mlm['steps']} steps, held-out "
            f"masked-LM loss {mlm['heldout_mlm_loss'][0]:.2f} -> {mlm['heldout_mlm_loss'][1]:.2f}, "
            f"{mlm['seconds'] / 60:.0f} min (shared cores)."
        )
    for bench in ("bench-vocab", "bench-fast", "bench-fast2", "bench-fast1"):
        if not (runs / bench / "report.json").is_file():
            continue
        report = load(runs / bench)
        print(f"\n## {bench}: against `{report['inputs']['model']}` in fp32 PyTorch, same process\n")
        print(
            "| model | accuracy % | change [paired 95% CI] | non-inferior at 1 | tokens/ex | p50 ms | "
            "batch-1 speedup | "
            "batch-32/s | throughput speedup | MB | smaller | agreement |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for entry in [report["benchmark"]["baseline"], *report["benchmark"]["candidates"]]:
            vs = entry.get("vs_baseline") or {}
            ch = vs.get("accuracy_change")
            tokens = f"{entry['tokens_per_example']:.1f}" if entry.get("tokens_per_example") else "-"
            shown = f"{ch['value']:+.1f} [{ch['ci_low']:+.1f}, {ch['ci_high']:+.1f}]" if ch else "-"
            print(
                f"| {entry['name']} | {100 * entry['quality']['accuracy']['value']:.1f} "
                f"| {shown} "
                f"| {('yes' if vs['non_inferior'] else 'no') if vs else '-'} | {tokens} | "
                f"{entry['latency_ms']['p50']:.2f} "
                f"| {vs.get('latency_p50_speedup', 1):.2f}x | {entry['throughput']['samples_per_second']:.0f} "
                f"| {vs.get('throughput_speedup', 1):.2f}x | {entry['size_mb']:.1f} | "
                f"{vs.get('size_reduction', 1):.2f}x "
                f"| {100 * entry['agreement_with_baseline']:.1f}% |"
            )
        env = report["benchmark"]["environment"]
        print(
            f"\nMachine: {env['cpu']}, {env['threads']} threads, int8 instructions: "
            f"{', '.join(env['int8_instructions'])}."
        )
        if bench == "bench-vocab":
            trimmed = next(
                (e for e in report["benchmark"]["candidates"] if e["name"] == "runs/vocab/trim-int8:model"), None
            )
            if trimmed is not None:
                trim_coverage(report, trimmed, runs / "trim-int8")
    if (runs / "trim-corpus-int8" / "report.json").is_file():
        report = load(runs / "trim-corpus-int8")
        trimmed, details = row(report, "pytorch fp32"), report["passes"][0]["details"]
        vs = trimmed["vs_baseline"]
        print(
            f"\n## trim_vocab keeping the corpus's tokens too (`trim-corpus-int8`, against "
            f"`{report['inputs']['model']}`)\n\n"
            f"Tokens {details['tokens'][0]:,} -> {details['tokens'][1]:,}; fp32 model "
            f"{vs['size_reduction']:.2f}x smaller on disk; agreement with the untrimmed model on test "
            f"{100 * trimmed['agreement_with_baseline']:.1f}%; "
            f"accuracy {100 * trimmed['quality']['accuracy']['value']:.1f}% against "
            f"{100 * report['benchmark']['baseline']['quality']['accuracy']['value']:.1f}%."
        )
        trim_coverage(report, trimmed, runs / "trim-corpus-int8")


def trim_coverage(report: dict, trimmed: dict, trim_run: Path) -> None:
    """Agreement of the trimmed model with the untrimmed one (the report's baseline), on test
    headlines whose tokens were all kept and on the others (predictions in split order)."""
    from transformers import AutoTokenizer

    from compress.data import load_task_data

    old = AutoTokenizer.from_pretrained(trim_run.parent / "minilm-teacher-s42" / "model")
    kept = set(AutoTokenizer.from_pretrained(trim_run / "model").get_vocab())
    texts = load_task_data(report["inputs"]["data"]).evaluation.texts
    ids = old(list(texts), add_special_tokens=False, truncation=True, max_length=126)["input_ids"]
    covered = np.array([all(t in kept for t in old.convert_ids_to_tokens(i)) for i in ids])
    same = np.array(trimmed["predictions"]) == np.array(report["benchmark"]["baseline"]["predictions"])
    print(
        f"\nTrim coverage: {covered.sum()} of {len(texts)} test headlines have every token kept; the trimmed "
        f"model agrees with the untrimmed one on {same[covered].mean():.1%} of them and on "
        f"{same[~covered].mean():.1%} of the other {(~covered).sum()}."
    )


if __name__ == "__main__":
    main()
