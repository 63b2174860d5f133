"""Study summaries: seed-averaged paired changes, mean ± spread, training cost, the plot."""

from __future__ import annotations

import pytest

from compress.report.study import mean_spread, seed_change, study_plot, training_cost


def test_the_seed_averaged_change_is_paired_on_the_same_examples():
    targets = [0, 1, 2, 0] * 25  # 100 examples; the baseline gets all right
    seeds = [
        {"predictions": [(t + 1) % 3 for t in targets[:4]] + targets[4:]},  # -4 points
        {"predictions": targets},  # 0 points
    ]
    bench = {"evaluation": {"targets": targets}, "baseline": {"predictions": targets}}
    change = seed_change(bench, seeds)
    assert change["value"] == pytest.approx(-2.0)
    assert change["ci_low"] < -2.0 < change["ci_high"] <= 0.0  # only the 4 changed examples move it
    assert seed_change({"evaluation": {}, "baseline": {}}, seeds) is None  # a report from before predictions


def test_mean_spread_is_the_population_spread_and_a_single_seed_is_shown_alone():
    assert mean_spread([74.0, 76.0]) == "75.0 ± 1.0"
    assert mean_spread([75.83], ".2f") == "75.83"
    with pytest.raises(ValueError):
        mean_spread([])


def test_training_cost_sums_the_training_passes_and_names_the_energy_method():
    estimate = "estimate: codecarbon"
    report = {
        "passes": [
            {"details": {"training_cost": {"wall_seconds": 10.0, "energy": {"kwh": 0.001, "method": estimate}}}},
            {"details": {}},
            {"details": {"training_cost": {"wall_seconds": 5.0, "energy": {"method": "unavailable"}}}},
        ]
    }
    assert training_cost(report) == (15.0, 0.001, f"{estimate}; unavailable")
    assert training_cost({"passes": [{"details": {}}]}) == (0, None, None)


def test_the_study_plot_is_written(tmp_path):
    study_plot([("kd", 2.0, 75.0), ("int8", 3.1, 74.2)], 75.5, tmp_path / "study.png")
    assert (tmp_path / "study.png").stat().st_size > 1000


def test_a_group_change_averages_each_side_over_its_own_seeds():
    import numpy as np

    from compress.measure.metrics import paired_change
    from compress.report.study import group_change

    labels = np.array([0, 1, 2, 0] * 25)
    wrong_first_four = labels.copy()
    wrong_first_four[:4] = (labels[:4] + 1) % 3
    change = group_change(labels, [labels, wrong_first_four], [labels])  # baseline seeds 100% and 96%
    assert change["value"] == pytest.approx(2.0) and change["ci_low"] <= 2.0 <= change["ci_high"]
    one = group_change(labels, [labels], [wrong_first_four])
    assert one == paired_change(labels, labels, [wrong_first_four])  # one baseline seed: the paired change


def test_a_training_summary_reads_back_as_it_was_written_and_older_details_still_read():
    from compress.training.summary import TrainingSummary

    summary = TrainingSummary(
        best_epoch=3,
        selection="accuracy",
        best_score=0.8123,
        precision={"requested": "bf16", "used": "fp32", "note": "n"},
        processes=2,
        cost={"wall_seconds": 12.5, "energy": {"kwh": 0.002, "method": "estimate"}},
        epochs=[{"epoch": 1, "train_loss": 0.5, "selection_accuracy": 0.8123}],
        resumed_at_step=40,
    )
    details = summary.details()
    assert details["selection_accuracy"] == 0.8123 and details["training_cost"]["wall_seconds"] == 12.5
    assert TrainingSummary.from_details(details) == summary
    assert TrainingSummary.from_details({"selection_split": "dev"}) is None  # a pass that did not train
    older = TrainingSummary.from_details({"training_cost": {"wall_seconds": 1.0}, "best_epoch": 1})
    assert older.processes == 1 and older.precision["used"] == "fp32" and older.wall_seconds == 1.0
