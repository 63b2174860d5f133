"""Recall per label: where accuracy hides a label the model almost never finds.

Accuracy and macro-F1 average over labels, so a model that never recognises a rare label loses
only that label's share of the examples (a few points) and still looks close to its baseline.
Imbalanced tasks (hate speech, sentiment, news with a small desk) have such labels; this section
shows each label's recall for every model of the report, from the predictions it keeps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

LOW_RECALL = 0.25  # under this, the report says the label is almost never recognised
MOST_LABELS_SHOWN = 20  # more labels than this: only the ones the shipped output recalls worst


def shipped(bench: dict[str, Any]) -> dict[str, Any]:
    """What the run produced last (its recipe's output), or the baseline when it produced nothing."""
    outputs = [c for c in bench["candidates"] if c.get("kind") != "classical"]
    return outputs[-1] if outputs else bench["baseline"]


def label_recalls(targets: np.ndarray, predictions: np.ndarray, label_count: int) -> np.ndarray:
    """Recall of every label id (NaN for a label with no example in the split)."""
    found = np.bincount(targets[predictions == targets], minlength=label_count).astype(float)
    support = np.bincount(targets, minlength=label_count).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, found / support, np.nan)


def rarely_recognised(bench: dict[str, Any], entry: dict[str, Any]) -> list[str]:
    """The labels `entry` recalls under LOW_RECALL, worst first, as "name (recall%)"; none when
    the report kept no predictions."""
    evaluation = bench["evaluation"]
    if "targets" not in evaluation or "predictions" not in entry:
        return []
    names = list(evaluation["labels"])
    return _under_low_recall(
        names, label_recalls(np.array(evaluation["targets"]), np.array(entry["predictions"]), len(names))
    )


def _under_low_recall(names: list[str], recalls: np.ndarray) -> list[str]:
    low = [i for i in np.argsort(np.nan_to_num(recalls, nan=np.inf), kind="stable") if recalls[i] < LOW_RECALL]
    return [f"{names[i]} ({100 * recalls[i]:.0f}%)" for i in low]


def per_label_section(bench: dict[str, Any]) -> str:
    """Recall per label (columns, the last output's worst first) for every model (rows, as in the
    results table), and a plain warning for the labels the last output almost never recognises;
    empty for reports that kept no predictions."""
    evaluation = bench["evaluation"]
    entries = [bench["baseline"], *bench["candidates"]]
    if "targets" not in evaluation or any("predictions" not in e for e in entries):
        return ""
    targets, names = np.array(evaluation["targets"]), list(evaluation["labels"])
    support = np.bincount(targets, minlength=len(names))
    recalls = [label_recalls(targets, np.array(e["predictions"]), len(names)) for e in entries]
    last = shipped(bench)
    final = recalls[entries.index(last)]
    order = [int(i) for i in np.argsort(np.nan_to_num(final, nan=np.inf), kind="stable") if support[i]]
    shown = order if len(order) <= MOST_LABELS_SHOWN else order[:10]
    lines = [
        "| model | " + " | ".join(f"{names[i]} ({support[i]})" for i in shown) + " |",
        "|---|" + "---|" * len(shown),
        *(
            f"| {e['name']} | " + " | ".join(f"{100 * r[i]:.1f}" for i in shown) + " |"
            for e, r in zip(entries, recalls, strict=True)
        ),
        "",
        "Recall %: the share of each label's examples (how many in brackets) that the model labels correctly.",
    ]
    if len(shown) < len(order):
        lines[-1] += f" The {len(shown)} of {len(order)} labels the last output recalls worst."
    low = _under_low_recall(names, final)
    if low:
        lines += [
            "",
            f"**Almost never recognised by {last['name']}** (recall under {100 * LOW_RECALL:.0f}%): "
            f"{', '.join(low)}. Accuracy counts these labels only by their share of the examples.",
        ]
    return "\n".join(lines)
