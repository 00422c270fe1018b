"""The coordinator's whole life on the real cluster, driven the way an automated
agent drives it: short commands, each returning within seconds, whatever happens
to the run (refused double submission, kill, cancel, walltime, a hostile
environment, spaces in paths, a silent controller)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from support import (
    VENV_BIN,
    add_test_rules,
    coordinator_snakemake_pid,
    expected_sorted_family,
    make,
    project_env,
    queued_jobs,
    run,
    run_id_of,
    status_json,
    submit,
    wait_until,
)

pytestmark = pytest.mark.slurm

LIFECYCLE_BOUND_S = 10


def agent(project: Path, *command: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """One agent command, cut off after the lifecycle bound like an agent's tool would."""
    return run(["timeout", str(LIFECYCLE_BOUND_S), *command], cwd=project, timeout=LIFECYCLE_BOUND_S + 5, env=env)


def agent_status(project: Path) -> dict:
    done = agent(project, "make", "-s", "status", "FORMAT=json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def poll(project: Path, states: set[str], timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = agent_status(project)
        if status["state"] in states:
            return status
        assert time.monotonic() < deadline, f"state stayed {status['state']}: {status}"
        time.sleep(2)


def locks_left(project: Path) -> list[str]:
    locks = project / ".snakemake" / "locks"
    return sorted(p.name for p in locks.iterdir()) if locks.is_dir() else []


def test_agent_drill_survives_a_killed_coordinator(bake):
    project = bake(live=True, latency_wait="5")
    add_test_rules(project, sleep_seconds=60)

    done = agent(project, "make", "-s", "submit", "ARGS=results/example.slow.bed")
    assert done.returncode == 0, done.stderr
    first_job = done.stdout.strip()
    assert first_job.isdigit()
    # Kill it hard while the slow step runs: no chance to cancel or unlock.
    wait_until(lambda: any(j["rule"] == "slow_copy" for j in agent_status(project)["rule_jobs"]),
               timeout=180, message="the slow step never started")
    sorted_mtime = (project / "results" / "example.sorted.bed").stat().st_mtime_ns
    old_run = run_id_of(project, first_job)
    assert queued_jobs(old_run), "the slow rule job should be queued or running"
    os.kill(coordinator_snakemake_pid(first_job), signal.SIGKILL)

    status = poll(project, {"stale", "failed", "completed"}, timeout=60)
    assert status["state"] == "stale", status
    assert locks_left(project)
    assert "'make submit' recovers and resumes" in status["hint"]

    done = agent(project, "make", "-s", "submit", "ARGS=results/example.slow.bed")
    assert done.returncode == 0, done.stderr
    second_job = done.stdout.strip().splitlines()[-1]
    assert second_job != first_job
    assert f"coordinator job {first_job} ended without releasing its lock; recovering" in done.stderr
    assert f"cancelling the rule jobs of run {old_run}" in done.stderr
    assert "released the stale lock" in done.stderr
    wait_until(lambda: not queued_jobs(old_run), timeout=30, message="the orphaned rule job was not cancelled")

    status = poll(project, {"completed", "failed", "stale", "cancelled", "timeout"}, timeout=240)
    assert status["state"] == "completed", status
    assert status["job_id"] == second_job
    assert status["steps_done"] == status["steps_total"], status
    assert (project / "results" / "example.sorted.bed").stat().st_mtime_ns == sorted_mtime
    assert (project / "results" / "example.slow.bed").read_text() == expected_sorted_family(
        project / "resources" / "example_repeats.bed", "L1")
    assert not queued_jobs(old_run) and not queued_jobs(run_id_of(project, second_job))
    assert locks_left(project) == []


def test_one_coordinator_per_project_and_a_clean_cancel(bake):
    project = bake(live=True)
    add_test_rules(project, sleep_seconds=120)
    job_id = submit(project, "results/example.slow.bed")
    poll(project, {"running"})

    again = agent(project, "scripts/submit_snakemake.sh", "results/example.slow.bed")
    assert again.returncode == 3
    assert again.stdout.strip() == job_id
    assert f"coordinator job {job_id} is already" in again.stderr
    assert make(project, "submit", check=False).returncode != 0

    wait_until(lambda: agent_status(project)["rule_jobs"], timeout=120, message="no rule job started")
    run_id = run_id_of(project, job_id)
    started = time.monotonic()
    done = agent(project, "make", "-s", "cancel")
    assert done.returncode == 0, done.stderr
    assert f"asked coordinator job {job_id} to stop" in done.stdout
    wait_until(lambda: not queued_jobs(run_id) and not queued_jobs(f"{project.name}_coordinator"),
               timeout=30, message="jobs of the cancelled run still queued after 30 s")
    assert time.monotonic() - started < 30
    status = poll(project, {"cancelled", "stale", "failed"}, timeout=30)
    assert status["state"] == "cancelled", status
    assert locks_left(project) == []
    log = (project / "logs" / "coordinator" / f"{job_id}.log").read_text()
    assert "Terminating processes on user request" in log  # Snakemake's own clean shutdown

    # Nothing left to cancel or unlock; a new submission starts a new run.
    assert "nothing to cancel" in agent(project, "make", "-s", "cancel").stdout
    assert "no lock to release" in agent(project, "make", "-s", "unlock").stdout


def test_walltime_warning_stops_the_coordinator_cleanly(bake):
    # Two minutes: the warning comes one minute before the limit.
    project = bake(live=True, coordinator_time="2")
    add_test_rules(project, sleep_seconds=300)
    assert "COORDINATOR_WALLTIME_WARNING_S=60" in (project / "profiles/slurm/coordinator.env").read_text()
    job_id = submit(project, "results/example.slow.bed")
    status = poll(project, {"timeout", "failed", "cancelled", "stale", "completed"}, timeout=240)
    assert status["state"] == "timeout", status
    assert locks_left(project) == []
    end = (project / "logs" / "coordinator" / f"{job_id}.end").read_text()
    assert "reason=walltime" in end
    text = make(project, "status").stdout
    assert "ran out of time and stopped cleanly: 'make submit' resumes the run" in text
    wait_until(lambda: not queued_jobs(run_id_of(project, job_id)), timeout=30,
               message="rule jobs outlived the coordinator")


def test_an_inherited_hostile_environment_does_not_reach_the_jobs(bake):
    project = bake(live=True, latency_wait="5")
    add_test_rules(project)
    env = project_env(
        SLURM_MEM_PER_NODE="777", SLURM_MEM_PER_CPU="778", SLURM_CPUS_PER_TASK="2",
        SLURM_EXPORT_ENV="NONE", SBATCH_EXPORT="NONE", APPTAINER_CONTAINER="/images/interactive.sif",
        SINGULARITY_CONTAINER="/images/interactive.sif", SLURM_CONF="/etc/slurm/slurm.conf",
    )
    done = make(project, "submit", "ARGS=results/environment.txt results/example.sorted.bed", env=env)
    assert "WARN  container            inside the container /images/interactive.sif" in done.stderr
    status = poll(project, {"completed", "failed", "stale", "cancelled", "timeout"})
    assert status["state"] == "completed", status
    job_env = dict(line.split("=", 1) for line in (project / "results/environment.txt").read_text().splitlines()
                   if "=" in line)
    # The rule job (which asked for mem_mb_per_cpu) ran; nothing conflicting came along.
    assert VENV_BIN in job_env["PATH"].split(":")
    assert job_env.get("SLURM_MEM_PER_NODE") != "777" and job_env.get("SLURM_MEM_PER_CPU") != "778"
    assert job_env.get("SLURM_EXPORT_ENV") != "NONE" and "SBATCH_EXPORT" not in job_env
    assert "APPTAINER_CONTAINER" not in job_env and "SINGULARITY_CONTAINER" not in job_env
    assert job_env["SLURM_CONF"] == "/etc/slurm/slurm.conf"


def test_a_path_with_spaces_works_for_every_target_from_anywhere(tmp_path):
    from test_answers import cookiecutter

    parent = tmp_path / "my projects" / "lab 1's"
    parent.mkdir(parents=True)
    done = cookiecutter(parent, {"latency_wait": "5"}, offline=False)
    assert done.returncode == 0, done.stderr
    project = parent / "repeat_family_analysis"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def make_c(*targets: str, check: bool = True):
        return run(["make", "-s", "-C", str(project), *targets], cwd=elsewhere, timeout=120, check=check)

    make_c("dry-run")
    make_c("lint")
    make_c("local")
    expected = expected_sorted_family(project / "resources/example_repeats.bed", "L1")
    assert (project / "results/example.sorted.bed").read_text() == expected
    make_c("clean")
    assert not (project / "results/example.sorted.bed").exists()

    job_id = make_c("submit").stdout.strip()
    assert job_id.isdigit()
    poll(project, {"completed", "failed", "stale", "cancelled", "timeout"})
    status = json.loads(make_c("status", "FORMAT=json").stdout)
    assert status["state"] == "completed", status
    assert (project / "results/example.sorted.bed").read_text() == expected
    assert f"==> {project}/logs/coordinator/{job_id}.log <==" in make_c("logs").stdout
    assert "nothing to cancel" in make_c("cancel").stdout
    assert "no lock to release" in make_c("unlock").stdout
    assert not (elsewhere / ".snakemake").exists() and not (elsewhere / "results").exists()


def test_a_silent_controller_gives_a_clear_answer_within_15_s(bake, request):
    project = bake(live=True)
    add_test_rules(project, sleep_seconds=120)
    job_id = submit(project, "results/example.slow.bed")
    poll(project, {"running"})
    recorded = (project / "logs/coordinator/latest_job_id").read_text()

    request.getfixturevalue("slurmctld_stopped")
    for target in ("status", "submit"):
        started = time.monotonic()
        done = run(["make", "-s", target], cwd=project, timeout=30)
        elapsed = time.monotonic() - started
        assert done.returncode != 0, done.stdout
        assert elapsed < 15, f"make {target} took {elapsed:.1f} s: {done.stderr}"
        assert "the SLURM controller did not answer" in done.stdout + done.stderr
    assert status_json(project)["state"] == "unknown"
    assert (project / "logs/coordinator/latest_job_id").read_text() == recorded == f"{job_id}\n"
    done = run(["make", "-s", "clean"], cwd=project, timeout=30)
    assert done.returncode != 0
    assert "whether a run is active is unknown. Nothing was deleted" in done.stderr
    assert (project / "logs/coordinator" / f"{job_id}.log").is_file()


def test_a_lost_record_is_found_again_and_the_coordinator_is_never_requeued(bake):
    project = bake(live=True)
    add_test_rules(project, sleep_seconds=120)
    job_id = submit(project, "results/example.slow.bed")
    poll(project, {"running"})
    record = project / "logs/coordinator/latest_job_id"
    record.write_text("12a\n")  # lost or mangled, e.g. by hand or a late sbatch answer
    status = agent_status(project)
    assert (status["state"], status["job_id"]) == ("running", job_id)
    assert record.read_text() == f"{job_id}\n"
    record.unlink()
    again = agent(project, "scripts/submit_snakemake.sh", "results/example.slow.bed")
    assert (again.returncode, again.stdout.strip()) == (3, job_id)
    requeue = run(["scontrol", "requeue", job_id], timeout=30)
    assert requeue.returncode != 0 and "disabled" in requeue.stderr + requeue.stdout
    assert agent(project, "make", "-s", "cancel").returncode == 0
    assert poll(project, {"cancelled", "failed", "stale"}, timeout=60)["state"] == "cancelled"


def test_a_local_run_keeps_its_lock_whatever_the_last_coordinator_did(bake):
    project = bake(live=True, latency_wait="5")
    config = project / "config/config.yaml"
    good_config = config.read_text()
    config.write_text(good_config.replace('family_pattern: "L1"', 'family_pattern: "L1("'))
    submit(project)
    assert poll(project, {"failed", "completed", "cancelled", "stale", "timeout"})["state"] == "failed"
    config.write_text(good_config)
    add_test_rules(project, sleep_seconds=60)

    local = subprocess.Popen(["make", "local", "ARGS=results/example.slow.bed"], cwd=project, env=project_env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until(lambda: locks_left(project) and (project / "results/example.sorted.bed").exists(),
                   timeout=60, message="the local run never took its lock")
        status = agent_status(project)
        assert (status["state"], status["foreground_run"]) == ("failed", True)
        for target, message in [
            ("submit", "a Snakemake started here with make (local, clean, ...) is running in this project"),
            ("unlock", "a Snakemake started here with make (local, clean, ...) is running; let it finish first. "
                       "Nothing was unlocked"),
            ("clean", "a Snakemake started here with make (local, clean, ...) is running; let it finish first. "
                      "Nothing was deleted"),
        ]:
            done = agent(project, "make", "-s", target)
            assert done.returncode != 0 and message in done.stderr, (target, done.stderr)
        assert locks_left(project)
        assert (project / "results/example.sorted.bed").exists()
    finally:
        os.killpg(local.pid, signal.SIGKILL)
        local.wait()
    # Nothing runs now: what the killed local run left is a stale lock, and submit recovers.
    assert agent_status(project)["state"] == "stale"
    assert agent(project, "make", "-s", "submit", "ARGS=results/example.slow.bed").returncode == 0
