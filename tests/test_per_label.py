"""Recall per label in the report: the table, its order, and the warning for a label the last
output almost never recognises."""

import numpy as np
import pytest

from compress.report.per_label import label_recalls, per_label_section


def bench(targets, labels, **predictions):
    """A benchmark record as run_benchmark writes it, reduced to what the section reads."""
    entries = [{"name": name, "predictions": list(p)} for name, p in predictions.items()]
    return {
        "evaluation": {"targets": list(targets), "labels": labels},
        "baseline": entries[0],
        "candidates": entries[1:],
    }


def test_label_recalls_counts_each_label_and_leaves_an_absent_one_unknown():
    targets = np.array([0, 0, 0, 0, 1, 1])
    predictions = np.array([0, 0, 0, 1, 0, 1])
    recalls = label_recalls(targets, predictions, 3)
    assert recalls[:2] == pytest.approx([0.75, 0.5])
    assert np.isnan(recalls[2])


def test_the_section_puts_the_last_outputs_worst_label_first_and_warns_about_it():
    targets = [0] * 8 + [1] * 8 + [2] * 4
    teacher = targets  # every label found
    student = [0] * 8 + [1] * 6 + [0] * 2 + [0] * 4  # label c never found, b at 75%
    text = per_label_section(bench(targets, ["a", "b", "c"], teacher=teacher, student=student))
    header, _, teacher_row, student_row = text.splitlines()[:4]
    assert header == "| model | c (4) | b (8) | a (8) |"
    assert teacher_row == "| teacher | 100.0 | 100.0 | 100.0 |"
    assert student_row == "| student | 0.0 | 75.0 | 100.0 |"
    assert "**Almost never recognised by student** (recall under 25%): c (0%)." in text
    assert "b (" not in text.split("Almost never")[1]


def test_no_warning_when_every_label_is_found_often_enough_and_nothing_without_predictions():
    targets = [0, 0, 1, 1]
    assert "Almost never" not in per_label_section(bench(targets, ["a", "b"], base=targets, out=[0, 1, 1, 1]))
    record = bench(targets, ["a", "b"], base=targets, out=targets)
    del record["candidates"][0]["predictions"]  # a report written before predictions were kept
    assert per_label_section(record) == ""


def test_many_labels_show_only_the_ten_the_last_output_recalls_worst():
    labels = [f"label{i}" for i in range(25)]
    targets = np.repeat(np.arange(25), 4)
    output = targets.copy()
    output[np.isin(targets, [3, 7])] = 0  # two labels lost
    text = per_label_section(bench(targets, labels, base=targets, out=output))
    header = text.splitlines()[0]
    assert header.count("|") == 12 and header.startswith("| model | label3 (4) | label7 (4) |")
    assert "The 10 of 25 labels the last output recalls worst." in text
