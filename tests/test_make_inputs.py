"""What a user or an agent types after `make TARGET` reaches the scripts as typed:
make and the shell never expand or run it, a bad value is refused with a usage
line, and a crash of the state check never reads as "nothing is running"."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from support import make, project_env, run, start_slow_local_run

MARKER = Path("/tmp/template-make-injection-marker")


@pytest.fixture
def marker():
    MARKER.unlink(missing_ok=True)
    yield MARKER
    assert not MARKER.exists(), "a make variable was executed"


@pytest.mark.parametrize("value", [f"x`touch {MARKER}`", f"x$(touch {MARKER})", f"$(shell touch {MARKER})",
                                   f"x;touch {MARKER}"])
def test_a_rule_name_is_never_run(bake, marker, value):
    done = make(bake(), "logs", f"RULE={value}", check=False)
    assert done.returncode != 0
    assert f"logs.sh: --rule takes a rule name, not '{value}'" in done.stderr


@pytest.mark.parametrize("value", [f"`touch {MARKER}`1", f"$(shell touch {MARKER})"])
def test_a_follow_time_is_never_run(bake, marker, value):
    done = make(bake(), "logs", f"FOLLOW={value}", check=False)
    assert done.returncode != 0
    assert "logs.sh: --follow and --lines take whole numbers" in done.stderr


def test_a_format_is_never_run(bake, marker):
    project = bake()
    for target in ("status", "doctor"):
        done = make(project, target, f"FORMAT=$(shell touch {MARKER})", check=False)
        assert done.returncode == 2
        assert (f"make: FORMAT must be text or json, not '$(shell touch {MARKER})'. "
                "Example: make status FORMAT=json") in done.stderr
    assert make(project, "status", "FORMAT=text").stdout.startswith("coordinator: none")


def test_only_skip_doctor_1_skips_the_checks(bake):
    project = bake()
    for value, skipped in (("1", True), ("0", False), ("no", False), ("", False)):
        done = make(project, "-n", "submit", f"SKIP_DOCTOR={value}")
        assert ("--skip-doctor" in done.stdout) == skipped, (value, done.stdout)


def test_an_exported_cdpath_changes_no_path(bake):
    project = bake()
    done = make(project, "lint", env=project_env(CDPATH=f".:{project.parent}"), check=False)
    assert done.returncode == 0, done.stderr
    assert "Lints for" not in done.stderr and "not found" not in done.stderr


def test_a_bad_controller_timeout_is_refused_and_the_lock_is_kept(bake):
    project = bake()
    locks = project / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.input.lock").write_text("a lock of a run that may still be active\n")
    for target in ("unlock", "clean"):
        done = make(project, target, env=project_env(SLURM_TIMEOUT_S="10s"), check=False)
        assert done.returncode != 0
        assert (f"{target}.sh: SLURM_TIMEOUT_S must be seconds above 0, at most 9999 (such as 5 or 2.5), "
                "not '10s'") in done.stderr
        assert (locks / "0.input.lock").is_file()


def test_a_state_check_that_crashes_refuses_instead_of_acting(bake, tmp_path):
    """A status.py that cannot run (here: a PYTHONPATH whose json.py shadows the
    standard one, as a user's own module may) must not look like 'no run'."""
    project = bake()
    locks = project / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.input.lock").write_text("a lock of a run that may still be active\n")
    (project / "results").mkdir()
    (project / "results" / "kept.bed").write_text("chr1\t1\t2\n")
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "json.py").write_text("raise ImportError('a json.py of the user shadows the standard one')\n")
    for target in ("unlock", "clean", "cancel", "submit SKIP_DOCTOR=1"):
        done = make(project, *target.split(), env=project_env(PYTHONPATH=str(shadow)), check=False)
        assert done.returncode != 0, target
        assert "scripts/status.py could not tell whether a run is active" in done.stderr, done.stderr
    assert (locks / "0.input.lock").is_file()
    assert (project / "results" / "kept.bed").is_file()
    assert not (project / "logs" / "coordinator" / "latest_job_id").exists()


def test_status_names_an_active_local_run(bake):
    project = bake()
    local = start_slow_local_run(project)
    try:
        line = "local run:   a 'make local' run is active in this directory (it holds the lock until it ends)"
        deadline = time.monotonic() + 60
        while line not in make(project, "status").stdout:
            assert time.monotonic() < deadline, "make status never named the local run"
            time.sleep(0.5)
        # The lock is the local run's, not a stale one.
        doctor = run([sys.executable, str(project / "scripts/doctor.py")], cwd=project, timeout=60).stdout
        assert "PASS  stale-lock           the lock belongs to a 'make local' run" in doctor, doctor
    finally:
        os.killpg(local.pid, signal.SIGTERM)
        local.wait(timeout=60)
    assert line not in make(project, "status").stdout


def sleeping_in_group(group: int) -> bool:
    """Whether a `sleep` (the slow test rule) runs in this process group."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.getpgid(int(pid)) == group and b"sleep" in Path("/proc", pid, "cmdline").read_bytes():
                return True
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
    return False


def test_rules_left_running_by_a_killed_local_run_still_block_unlock_and_clean(bake):
    """kill -9 of Snakemake alone (as the OOM killer does) leaves its rule running."""
    project = bake()
    local = start_slow_local_run(project)
    try:
        deadline = time.monotonic() + 60
        while not sleeping_in_group(local.pid):
            assert time.monotonic() < deadline, "the slow rule never started"
            time.sleep(0.5)
        os.kill(local.pid, signal.SIGKILL)  # Snakemake only; its rule's shell and sleep go on
        local.wait()
        for target in ("unlock", "clean"):
            done = make(project, target, check=False)
            assert done.returncode != 0
            assert "is running; let it finish first" in done.stderr, done.stderr
        assert (project / ".snakemake" / "locks").is_dir() and any((project / ".snakemake" / "locks").iterdir())
    finally:
        try:
            os.killpg(local.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_follow_time_with_a_leading_zero_is_decimal(bake):
    done = make(bake(), "logs", "FOLLOW=08", check=False)
    assert "value too great for base" not in done.stderr
    assert "logs.sh: nothing submitted yet" in done.stderr


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "0", "10s"])
def test_a_bad_controller_timeout_fails_make_status_with_its_reason(bake, value):
    done = make(bake(), "status", env=project_env(SLURM_TIMEOUT_S=value), check=False)
    assert done.returncode != 0
    assert (f"status.py: SLURM_TIMEOUT_S must be seconds above 0, at most 9999 (such as 5 or 2.5), "
            f"not '{value}'") in done.stderr


@pytest.mark.parametrize("line", [
    "COORDINATOR_PARTITION=debug; touch {marker}",
    "COORDINATOR_PARTITION=$(touch {marker})",
    "<<<<<<< ours",
])
def test_coordinator_settings_are_read_never_run(bake, marker, line):
    project = bake()
    env_file = project / "profiles/slurm/coordinator.env"
    env_file.write_text(env_file.read_text() + line.format(marker=MARKER) + "\n")
    done = make(project, "submit", "SKIP_DOCTOR=1", check=False)
    assert done.returncode != 0
    first = line.format(marker=MARKER)
    number = len(env_file.read_text().splitlines())
    assert (f"coordinator_settings.py: profiles/slurm/coordinator.env line {number} is not NAME='value' with one "
            f"of COORDINATOR_PARTITION, COORDINATOR_ACCOUNT, COORDINATOR_TIME, COORDINATOR_MEM_PER_CPU_MB, "
            f"COORDINATOR_WALLTIME_WARNING_S: {first!r}") in done.stderr, done.stderr
    assert "nothing was submitted: mend profiles/slurm/coordinator.env as said above" in done.stderr
    assert not Path(MARKER).exists()
    assert not (project / "logs" / "coordinator" / "latest_job_id").exists()


def test_logs_does_not_wait_on_a_coordinator_that_has_ended(bake):
    project = bake()
    coordinators = project / "logs" / "coordinator"
    coordinators.mkdir(parents=True)
    (coordinators / "latest_job_id").write_text("4242\n")
    (coordinators / "4242.log").write_text("Finished jobid: 3 (Rule: all)\n3 of 3 steps (100%) done\n")
    (coordinators / "4242.end").write_text("exit_code=0\nreason=\nstarted=\nended=2026-12-04T08:00:00+00:00\n")
    # Following for 60 s would outlast the 30 s given here: an ended run has nothing more to say.
    done = make(project, "logs", "FOLLOW=60", timeout=30)
    assert "3 of 3 steps (100%) done" in done.stdout
