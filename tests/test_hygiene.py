"""The suite's own guards can fail: the leftover-files check sees a file left in the checkout."""

from __future__ import annotations

from conftest import REPO, _entries


def test_the_leftover_check_sees_a_file_left_in_the_checkout():
    before = _entries()
    probe = REPO / "tests" / "leftover-probe.txt"
    probe.write_text("left behind")
    try:
        assert _entries() - before == {probe}
    finally:
        probe.unlink()
