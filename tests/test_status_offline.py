"""`make status` and scripts/status.py before anything was submitted: no SLURM needed."""

from __future__ import annotations

import json
import sys

from support import make, run


def test_nothing_submitted_yet(bake):
    project = bake()
    assert make(project, "status").stdout == (
        "coordinator: none (nothing submitted yet: 'make submit' starts a run)\n")
    done = run([sys.executable, str(project / "scripts/status.py"), "--json"], cwd=project)
    assert done.returncode == 4
    status = json.loads(done.stdout)
    assert (status["state"], status["job_id"]) == ("none", None)
    assert status["hint"] == "nothing submitted yet: 'make submit' starts a run"


def test_logs_before_anything_was_submitted(bake):
    project = bake()
    done = run([str(project / "scripts/logs.sh")], cwd=project)
    assert done.returncode == 4
    assert "nothing submitted yet: 'make submit' starts a run" in done.stderr
