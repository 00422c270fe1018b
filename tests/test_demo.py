"""`make demo`: bake with the default answers and run the example on the local
cluster, as the README promises."""

from __future__ import annotations

import pytest

from support import TEMPLATE_DIR, expected_sorted_family, run

pytestmark = pytest.mark.slurm


def test_demo_runs_the_example_on_the_cluster_and_shows_the_result():
    done = run(["bash", str(TEMPLATE_DIR / "tools" / "demo.sh")], cwd=TEMPLATE_DIR, timeout=700)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "demo: completed, 3 of 3 steps (100%)" in done.stdout
    project = TEMPLATE_DIR / "build" / "demo" / "repeat_family_analysis"
    expected = expected_sorted_family(project / "resources" / "example_repeats.bed", "L1")
    assert done.stdout.endswith(expected)
