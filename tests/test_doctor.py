"""`make doctor`: each known trap made real, then named with its exact status and fix.
A clean project on a healthy cluster shows neither FAIL nor WARN."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

import pytest
import yaml

from support import (VENV_BIN, add_test_rules, coordinator_snakemake_pid, make, project_env, queued_jobs, run,
                     run_id_of, start_slow_local_run, submit, wait_for_state, wait_until)


def doctor(project: Path, *args: str, env: dict | None = None) -> tuple[int, dict[str, dict]]:
    done = run([sys.executable, str(project / "scripts/doctor.py"), "--json", *args], cwd=project, env=env,
               timeout=60)
    checks = json.loads(done.stdout)
    return done.returncode, {check["name"]: check for check in checks}


def line_of(project: Path, name: str, env: dict | None = None) -> str:
    done = run([sys.executable, str(project / "scripts/doctor.py")], cwd=project, env=env, timeout=60)
    lines = [line for line in done.stdout.splitlines() if line.split()[1:2] == [name]]
    assert len(lines) == 1, done.stdout
    return lines[0]


def edit_profile(project: Path, **changes) -> None:
    path = project / "profiles/slurm/config.yaml"
    profile = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        if value is None:
            profile.pop(key, None)
        else:
            profile[key] = value
    path.write_text(yaml.safe_dump(profile))


@pytest.mark.slurm
def test_a_clean_project_on_a_healthy_cluster_passes_everything(bake):
    project = bake(live=True)
    started = time.monotonic()
    code, checks = doctor(project)
    assert time.monotonic() - started < 5
    assert code == 0
    assert {c["status"] for c in checks.values()} == {"PASS"}, checks
    assert set(checks) == {"container", "export-env", "inherited-memory", "inside-slurm-job", "latency-wait",
                           "container-directives", "profile-lint", "project-path", "working-directory", "versions",
                           "cluster", "stale-lock"}
    assert "PASS  cluster" in make(project, "doctor").stdout


def test_inside_a_container(bake):
    project = bake()
    env = project_env(APPTAINER_CONTAINER="/images/analysis.sif")
    assert line_of(project, "container", env) == (
        "WARN  container            inside the container /images/analysis.sif: the coordinator and the rule jobs "
        "run on the nodes outside it, where tools and variables that exist only in the container are missing. "
        "Fix: submit from a shell outside the container, or install Snakemake and the tools on the cluster too")
    nested = bake(use_apptainer="yes")
    _, checks = doctor(nested, env=env)
    assert "nests containers" in checks["container"]["saw"]


def test_an_export_setting_that_strips_the_environment(bake):
    project = bake()
    line = line_of(project, "export-env", project_env(SLURM_EXPORT_ENV="NONE", SBATCH_EXPORT="NONE"))
    assert line.startswith("WARN  export-env           SLURM_EXPORT_ENV=NONE, SBATCH_EXPORT=NONE: jobs submitted "
                           "from this shell start without PATH or conda")
    assert line.endswith("Fix: unset SLURM_EXPORT_ENV SBATCH_EXPORT")


@pytest.mark.slurm
def test_inside_a_real_slurm_job_with_its_memory_settings(bake):
    project = bake()
    # An interactive allocation, as a user gets with salloc: it sets SLURM_MEM_PER_NODE.
    done = run(["salloc", "--mem=300", "--time=5", sys.executable, str(project / "scripts/doctor.py"), "--json"],
               cwd=project, timeout=120)
    checks = {c["name"]: c for c in json.loads(done.stdout)}
    assert checks["inside-slurm-job"]["status"] == "WARN"
    assert checks["inside-slurm-job"]["fix"] == "use 'make submit', which runs the coordinator as its own job"
    assert checks["inherited-memory"]["status"] == "WARN"
    assert "SLURM_MEM_PER_NODE=300" in checks["inherited-memory"]["saw"]
    assert checks["inherited-memory"]["fix"] == "unset SLURM_MEM_PER_NODE SLURM_MEM_PER_CPU SLURM_MEM_PER_GPU"


@pytest.mark.parametrize(("seconds", "status"), [(360, "WARN"), (700, "FAIL"), (0, "PASS")])
def test_latency_wait(bake, seconds, status):
    project = bake()
    edit_profile(project, **{"latency-wait": seconds})
    code, checks = doctor(project, "--quick")
    assert checks["latency-wait"]["status"] == status
    assert code == (1 if status == "FAIL" else 0)
    if status != "PASS":
        assert checks["latency-wait"]["saw"].startswith(f"latency-wait: {seconds}")
        assert checks["latency-wait"]["fix"].startswith("set latency-wait: 60 in profiles/slurm/config.yaml")


def test_apptainer_with_rules_that_name_no_container(bake):
    project = bake(use_apptainer="yes")
    assert doctor(project, "--quick")[1]["container-directives"]["status"] == "PASS"
    add_test_rules(project)
    line = line_of(project, "container-directives")
    assert line == ("WARN  container-directives the profile enables Apptainer, but rules slow_copy, "
                    "environment_report name no container: they run on the node's own software. Fix: add a "
                    "container: directive to each (or remove Apptainer from profiles/slurm/config.yaml)")


@pytest.mark.slurm
def test_a_stale_lock_from_a_killed_coordinator(bake):
    project = bake(live=True, latency_wait="5")
    add_test_rules(project, sleep_seconds=60)
    job_id = submit(project, "results/example.slow.bed")
    wait_for_state(project, {"running"})
    time.sleep(3)  # let Snakemake take its lock
    os.kill(coordinator_snakemake_pid(job_id), signal.SIGKILL)
    wait_for_state(project, {"stale"}, timeout=60)
    code, checks = doctor(project)
    assert code == 1
    assert checks["stale-lock"] == {
        "name": "stale-lock", "status": "FAIL",
        "saw": f"coordinator job {job_id} is gone but .snakemake/locks still holds its lock",
        "fix": "make submit (recovers and resumes) or make unlock",
    }
    run_id = run_id_of(project, job_id)
    assert queued_jobs(run_id), "the killed run's rule job should still be in the queue"
    unlocked = make(project, "unlock")
    # Its rule job goes first, so that the next run is the only one writing here.
    assert f"cancelling the rule jobs of run {run_id}" in unlocked.stderr
    wait_until(lambda: not queued_jobs(run_id), 30, f"rule jobs of run {run_id} still queued after make unlock")
    assert doctor(project)[1]["stale-lock"]["status"] == "PASS"


def test_a_lock_left_by_a_killed_local_run(bake):
    project = bake()
    local = start_slow_local_run(project)
    locks = project / ".snakemake" / "locks"
    deadline = time.monotonic() + 60
    while not (locks.is_dir() and any(locks.iterdir())):
        assert time.monotonic() < deadline, "the local run never took its lock"
        time.sleep(0.2)
    os.killpg(local.pid, signal.SIGKILL)
    local.wait()
    _, checks = doctor(project)
    assert checks["stale-lock"]["status"] == "FAIL"
    assert checks["stale-lock"]["fix"] == "make unlock (if no Snakemake runs in this project)"


def test_an_export_list_without_all_strips_the_environment(bake):
    project = bake()
    line = line_of(project, "export-env", project_env(SLURM_EXPORT_ENV="HOME"))
    assert line.startswith("WARN  export-env           SLURM_EXPORT_ENV=HOME: jobs submitted from this shell start "
                           "without PATH or conda")
    assert line_of(project, "export-env", project_env(SLURM_EXPORT_ENV="ALL,EXTRA=1")).startswith("PASS")


@pytest.mark.parametrize(("directory", "saw_ends", "fix"), [
    ("run{1}", "contains '{' and '}': Snakemake reads them in paths as wildcards and patterns, and then ignores the "
               "profile or fails", "move the project to a directory without '{', '}', '[' or ']' in its path"),
    ("runs 100%", "contains '%': sbatch reads file names as patterns, and the rule jobs of the SLURM plugin fail "
                  "without a log there", "move the project to a directory without '%' or '\\' in its path"),
], ids=["braces", "percent"])
def test_characters_in_the_project_path_that_break_runs(tmp_path, directory, saw_ends, fix):
    from test_answers import cookiecutter

    parent = tmp_path / directory
    parent.mkdir()
    assert cookiecutter(parent, {}).returncode == 0
    code, checks = doctor(parent / "repeat_family_analysis", "--quick")
    assert code == 1
    assert checks["project-path"]["status"] == "FAIL"
    assert checks["project-path"]["saw"].endswith(saw_ends)
    assert checks["project-path"]["fix"] == fix


def test_state_left_by_a_run_started_in_another_directory(bake):
    project = bake()
    # A run started next to the project without --directory.
    run([str(Path(VENV_BIN) / "snakemake"), "--snakefile", str(project / "workflow/Snakefile"), "--dry-run",
         "--configfile", str(project / "config/config.yaml")], cwd=project / "workflow", timeout=120)
    assert (project / "workflow" / ".snakemake").is_dir()
    code, checks = doctor(project, "--quick")
    check = checks["working-directory"]
    assert check["status"] == "WARN"
    assert check["saw"] == f"left by runs started in another directory: {project / 'workflow' / '.snakemake'}"
    assert check["fix"].endswith("and run through make, which always passes --directory")


@pytest.mark.slurm
def test_cluster_facts_partition_account_and_status_command(bake, accounting):
    project = bake(live=True)
    edit_profile(project, **{"default-resources": {"slurm_partition": "gone", "mem_mb": 1000, "runtime": "60m"},
                             "slurm-status-command": "sacct"})
    env_file = project / "profiles/slurm/coordinator.env"
    env_file.write_text(env_file.read_text().replace("COORDINATOR_PARTITION=debug", "COORDINATOR_PARTITION=vanished"))
    code, checks = doctor(project)
    assert code == 1
    assert checks["slurm_partition"] == {
        "name": "slurm_partition", "status": "FAIL",
        "saw": "slurm_partition: 'gone' is not a partition of this cluster",
        "fix": "set default-resources: slurm_partition in profiles/slurm/config.yaml to one of: debug, long",
    }
    assert checks["coordinator_partition"]["fix"] == (
        "set COORDINATOR_PARTITION in profiles/slurm/coordinator.env to one of: debug, long")
    if accounting:
        assert "status_command" not in checks
        assert checks["cluster"]["saw"].endswith("accounting on; status command sacct")
        return
    assert checks["status_command"]["status"] == "FAIL"
    assert checks["status_command"]["saw"].startswith("status_command: 'sacct' needs SLURM accounting")
    assert checks["status_command"]["fix"] == "set slurm-status-command: squeue in profiles/slurm/config.yaml"


@pytest.mark.slurm
def test_a_silent_controller_is_reported_within_15_s(bake, request):
    project = bake()
    request.getfixturevalue("slurmctld_stopped")
    started = time.monotonic()
    code, checks = doctor(project)
    assert time.monotonic() - started < 15
    assert code == 1
    assert checks["cluster"]["status"] == "FAIL"
    assert checks["cluster"]["saw"].startswith("the SLURM controller did not answer")


def test_rule_jobs_interpreter_without_snakemake(bake, tmp_path):
    project = bake()
    bare = tmp_path / "bare-env"
    venv.create(bare, with_pip=False)
    fake_entry = bare / "bin" / "snakemake"
    fake_entry.write_text(f"#!{bare / 'bin' / 'python'}\nimport snakemake\n")
    fake_entry.chmod(0o755)
    code, checks = doctor(project, "--quick", env=project_env(SNAKEMAKE=str(fake_entry)))
    assert code == 1
    assert checks["versions"]["status"] == "FAIL"
    assert checks["versions"]["saw"] == (f"{bare / 'bin' / 'python'}: snakemake None, slurm plugin None, "
                                         "jobstep plugin None (Snakemake 9 or newer is needed)")


def test_an_old_slurm_plugin_is_refused(bake, tmp_path):
    project = bake()
    old = tmp_path / "old-plugin"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(old),
                    "snakemake-executor-plugin-slurm==2.6.0"], check=True, timeout=300)
    code, checks = doctor(project, "--quick", env=project_env(PYTHONPATH=str(old)))
    assert code == 1
    assert "slurm plugin 2.6.0" in checks["versions"]["saw"]
    assert "plugins before 2.7 hang when the coordinator runs inside a SLURM job" in checks["versions"]["saw"]
    assert checks["versions"]["fix"] == "pip install 'snakemake-executor-plugin-slurm>=2.7' (or make venv)"


def test_a_deprecated_setting_warns_without_blocking(bake):
    project = bake()
    edit_profile(project, **{"max-jobs-per-second": 5})
    code, checks = doctor(project, "--quick")
    assert code == 0
    assert checks["profile-lint"] == {
        "name": "profile-lint", "status": "WARN",
        "saw": "profiles/slurm: 'max-jobs-per-second' is deprecated since Snakemake 8",
        "fix": "use max-jobs-per-timespan (e.g. 10/1s)",
    }


@pytest.mark.parametrize(
    ("changes", "saw_start", "fix"),
    [
        ({"cluster": "sbatch -p debug"},
         "profiles/slurm: 'cluster' is a Snakemake 7 setting that Snakemake 8+ rejects", "use executor: slurm"),
        ({"default-resources": {"mem_mb": 1000, "mem_mb_per_cpu": 500, "slurm_partition": "debug"}},
         "profiles/slurm: default-resources sets both mem_mb and mem_mb_per_cpu", "keep one of them"),
        ({"set-resources": {"sort_bed": {"slurm_extra": "'--mem=4G --qos=long'"}}},
         "profiles/slurm: set-resources of rule sort_bed slurm_extra passes --mem, which the SLURM plugin sets",
         "remove it from slurm_extra and use the resource mem_mb"),
        # Flags the plugin refuses in slurm_extra, and a short flag with its value attached.
        ({"set-resources": {"sort_bed": {"slurm_extra": "'--gres=gpu:1'"}}},
         "profiles/slurm: set-resources of rule sort_bed slurm_extra passes --gres, which the SLURM plugin sets",
         "remove it from slurm_extra and use the resource gres"),
        ({"default-resources": {"mem_mb": 1000, "slurm_partition": "debug", "slurm_extra": "'-plong'"}},
         "profiles/slurm: default-resources slurm_extra passes -p, which the SLURM plugin sets",
         "remove it from slurm_extra and use the resource slurm_partition"),
        ({"slurm": True},
         "profiles/slurm: 'slurm' is a Snakemake 7 setting that Snakemake 8+ rejects", "use executor: slurm"),
        ({"executor": "local"},
         "profiles/slurm: executor is 'local', not 'slurm': rule jobs would run inside the coordinator's job",
         "set executor: slurm"),
    ],
)
def test_profile_lint(bake, changes, saw_start, fix):
    project = bake()
    edit_profile(project, **changes)
    code, checks = doctor(project, "--quick")
    assert code == 1
    assert checks["profile-lint"]["status"] == "FAIL"
    assert checks["profile-lint"]["saw"].startswith(saw_start)
    assert checks["profile-lint"]["fix"] == fix


@pytest.mark.slurm
def test_submit_refuses_on_a_fail_unless_told_otherwise(bake):
    project = bake(live=True)
    edit_profile(project, **{"cluster-status": "status.py"})
    done = make(project, "submit", check=False)
    assert done.returncode != 0
    assert "FAIL  profile-lint         profiles/slurm: 'cluster-status' is a Snakemake 7 setting" in done.stderr
    assert "nothing was submitted: fix the FAIL above, or submit anyway with --skip-doctor" in done.stderr
    assert not (project / "logs/coordinator/latest_job_id").exists()
    edit_profile(project, **{"cluster-status": None})
    edit_profile(project, **{"latency-wait": 700})
    job_id = make(project, "submit", "SKIP_DOCTOR=1").stdout.strip()
    assert job_id.isdigit()
    assert wait_for_state(project, {"completed", "failed"})["state"] == "completed"


def test_a_profile_left_with_conflict_markers_says_to_resolve_them(bake):
    project = bake()
    path = project / "profiles/slurm/config.yaml"
    path.write_text(path.read_text().replace(
        "latency-wait: 60\n", "<<<<<<< ours\nlatency-wait: 60\n=======\nlatency-wait: 90\n>>>>>>> theirs\n"))
    code, checks = doctor(project, "--quick")
    assert code == 1
    assert checks["profile"] == {
        "name": "profile", "status": "FAIL", "saw": "conflict markers (<<<<<<<) left in profiles/slurm/config.yaml",
        "fix": "resolve the conflict in profiles/slurm/config.yaml (keep one side of each block, drop the markers), "
               "then commit",
    }


def test_a_profile_that_is_not_yaml_is_named(bake):
    project = bake()
    (project / "profiles/slurm/config.yaml").write_text("jobs: [100\n")
    code, checks = doctor(project, "--quick")
    assert code == 1
    assert checks["profile"]["saw"].startswith("cannot read profiles/slurm: ")
    assert checks["profile"]["fix"] == (
        "fix the file named above, or restore it with 'git checkout profiles/slurm' and 'make regen-profile'")
