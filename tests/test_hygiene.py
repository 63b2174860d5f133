"""The suite's own guards can fail: the leftover-files check sees a file left in the checkout."""

from __future__ import annotations

from pathlib import Path

from conftest import REPO, _entries


def test_the_leftover_check_sees_a_file_left_in_the_checkout():
    before = _entries()
    probe = REPO / "tests" / "leftover-probe.txt"
    probe.write_text("left behind")
    try:
        assert _entries() - before == {probe}
    finally:
        probe.unlink()


def test_the_leftover_check_sees_a_compress_temporary_folder_and_only_the_suites_own(tmp_path):
    import tempfile

    before = _entries()
    made = Path(tempfile.mkdtemp(prefix="compress-probe-"))
    try:
        assert _entries() - before == {made}
        assert made.parent != Path("/tmp"), "the suite's temporary folder is its own"
    finally:
        made.rmdir()
