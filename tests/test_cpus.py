"""Thread count: never more threads than the CPUs the process may use (affinity, cgroup quota)."""

from __future__ import annotations

import os

import pytest
from conftest import REPO, run_args

from compress import cpus


@pytest.mark.parametrize(
    "v2, v1, expected",
    [
        ("200000 100000\n", None, 2),  # docker --cpus 2 on cgroup v2
        ("150000 100000\n", None, 1),  # 1.5 CPUs: one whole thread
        ("max 100000\n", None, None),  # no quota
        (None, ("400000", "100000"), 4),  # cgroup v1
        (None, ("-1", "100000"), None),
        (None, None, None),  # no cgroup files at all
        ("garbage\n", None, None),
    ],
)
def test_quota_is_read_from_cgroup_v2_or_v1(tmp_path, monkeypatch, v2, v1, expected):
    paths = {name: tmp_path / name for name in ("cpu.max", "quota", "period")}
    if v2 is not None:
        paths["cpu.max"].write_text(v2)
    if v1 is not None:
        paths["quota"].write_text(v1[0])
        paths["period"].write_text(v1[1])
    monkeypatch.setattr(cpus, "CGROUP_V2_MAX", paths["cpu.max"])
    monkeypatch.setattr(cpus, "CGROUP_V1_QUOTA", paths["quota"])
    monkeypatch.setattr(cpus, "CGROUP_V1_PERIOD", paths["period"])
    assert cpus._quota_cpus() == expected


def test_default_threads_takes_the_tightest_limit(monkeypatch):
    monkeypatch.setattr(cpus, "_allowed_cpus", lambda: 64)
    monkeypatch.setattr(cpus, "_quota_cpus", lambda: 2)
    monkeypatch.setattr(cpus, "_physical_cores", lambda: 32)
    assert cpus.default_threads() == 2
    monkeypatch.setattr(cpus, "_quota_cpus", lambda: None)
    monkeypatch.setattr(cpus, "_physical_cores", lambda: None)
    assert cpus.default_threads() == 64


def test_default_threads_on_this_machine_is_usable():
    assert 1 <= cpus.default_threads() <= len(os.sched_getaffinity(0))


def test_torch_threads_are_capped_unless_omp_num_threads_decides(monkeypatch):
    import torch

    before = torch.get_num_threads()
    messages: list[str] = []
    try:
        torch.set_num_threads(2)
        monkeypatch.setattr(cpus, "default_threads", lambda: 1)
        monkeypatch.setenv("OMP_NUM_THREADS", "2")
        assert cpus.torch_thread_cap(messages.append) is None
        monkeypatch.delenv("OMP_NUM_THREADS")
        assert cpus.torch_thread_cap(messages.append) == 1
        assert messages == ["threads: 1 (the CPUs this process may use), not torch's default 2"]
        monkeypatch.setattr(cpus, "default_threads", lambda: 4)
        assert cpus.torch_thread_cap(messages.append) is None  # never raised
    finally:
        torch.set_num_threads(before)


def test_thread_count_and_random_state_come_back_after_a_block_or_a_run(tiny_classifier_dir, toy_data, tmp_path):
    import torch

    from compress.cli import main

    torch.manual_seed(1234)
    expected_draw = torch.rand(3)
    torch.manual_seed(1234)
    before = torch.get_num_threads()
    with cpus.torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    recipe = str(REPO / "recipes" / "precision-bf16.yaml")
    assert (
        main(
            run_args(
                recipe,
                str(tiny_classifier_dir),
                str(toy_data),
                str(tmp_path / "o"),
                "--set",
                "benchmark.rounds=1",
                "--set",
                "benchmark.min_seconds=0",
                "--set",
                "benchmark.min_iterations=2",
                "--set",
                "benchmark.memory=false",
                "--set",
                "benchmark.threads=1",
            )
        )
        == 0
    )
    assert torch.get_num_threads() == before
    assert torch.equal(torch.rand(3), expected_draw)  # the run's seeding did not touch the caller's RNG
