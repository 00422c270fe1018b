"""`make bench` runs on the local cluster and writes its table. Speed itself is
measured by the benchmark, never asserted here."""

from __future__ import annotations

import re
import sys

import pytest

from support import TEMPLATE_DIR, run

pytestmark = pytest.mark.slurm


def test_bench_runs_and_writes_the_table(tmp_path):
    table = tmp_path / "RESULTS.md"
    done = run([sys.executable, str(TEMPLATE_DIR / "bench" / "run_bench.py"), "--chain", "2", "--width", "2",
                "--bakes", "2", "--submits", "1", "--output", str(table)], cwd=TEMPLATE_DIR, timeout=1500)
    assert done.returncode == 0, done.stdout + done.stderr
    text = table.read_text()
    for dag in ("chain", "scatter"):
        for profile in ("generated", "plugin defaults"):
            assert re.search(rf"^\| {dag} \| {profile} \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| -?[0-9.]+ \| [0-9]+ \|",
                             text, re.MULTILINE), (dag, profile, text)
    assert re.search(r"^\| chain \| [0-9.]+ \| [0-9.]+ \|$", text, re.MULTILINE)
    assert "Bake with hooks, no live cluster checks: median" in text
    assert "`make submit` return: median" in text
    assert re.search(r"^- (met|NOT met): chain wall / lower bound <= 1.5", text, re.MULTILINE)
