"""The main job on a real SLURM cluster: bake, `make submit`, poll `make status`,
and get the right files, a finished log and no lock left behind."""

from __future__ import annotations

import time

import pytest

from support import expected_sorted_family, make, set_config, status_json, submit, wait_for_state

pytestmark = pytest.mark.slurm


def timed_submit(project) -> str:
    started = time.monotonic()
    job_id = submit(project)
    elapsed = time.monotonic() - started
    assert elapsed < 5, f"make submit took {elapsed:.1f} s"
    return job_id


def assert_finished_cleanly(project, job_id: str, steps: int) -> None:
    status = wait_for_state(project, {"completed", "failed", "cancelled", "timeout", "stale"}, timeout=300)
    log = (project / "logs" / "coordinator" / f"{job_id}.log").read_text()
    assert status["state"] == "completed", f"{status}\n{log}"
    assert status["job_id"] == job_id
    assert (status["steps_done"], status["steps_total"], status["percent"]) == (steps, steps, 100.0)
    assert f"{steps} of {steps} steps (100%) done" in log
    assert "exit_code=0" in (project / "logs" / "coordinator" / f"{job_id}.end").read_text()
    locks = project / ".snakemake" / "locks"
    assert not locks.exists() or not any(locks.iterdir())


def test_submit_runs_the_example_on_the_cluster(bake, shared_data):
    project = bake(live=True, latency_wait="5")
    rmsk = shared_data / "rmsk.hg18.chr21.small.bed"
    set_config(project, {"example": "resources/example_repeats.bed", "rmsk": str(rmsk)}, "L1")

    job_id = timed_submit(project)
    assert status_json(project)["state"] in {"pending", "running", "completed"}
    assert_finished_cleanly(project, job_id, steps=5)
    assert (project / "results" / "example.sorted.bed").read_text() == expected_sorted_family(
        project / "resources" / "example_repeats.bed", "L1"
    )
    rmsk_result = (project / "results" / "rmsk.sorted.bed").read_text()
    assert len(rmsk_result.splitlines()) == 170
    assert rmsk_result == expected_sorted_family(rmsk, "L1")

    # A second run in the same project, on a BED file with a track header.
    peaks = shared_data / "Cp190_Kc_Bushey_2009.bed"
    set_config(project, {"cp190": str(peaks)}, "")
    job_id = timed_submit(project)
    assert_finished_cleanly(project, job_id, steps=3)
    result = (project / "results" / "cp190.sorted.bed").read_text()
    assert result.splitlines()[0].startswith("track name=")
    assert result == expected_sorted_family(peaks, "")

    text = make(project, "status").stdout
    assert f"coordinator: job {job_id} completed" in text
    assert "progress:    3 of 3 steps (100%)" in text
