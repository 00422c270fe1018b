"""On a cluster with SLURM accounting (make slurm-up ACCOUNTING=1): sacct as the
status command, the account checked at generation and by the doctor, and the
account that every job of a run is charged to."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from support import make, run_id_of, set_config, submit, wait_for_state, warnings_of
from test_answers import cookiecutter
from test_doctor import doctor

pytestmark = pytest.mark.accounting

ACCOUNT = "lab1"  # registered by local_cluster/up.sh --accounting
PROFILE = "repeat_family_analysis/profiles/slurm/config.yaml"


def jobs_in_controller(job_name: str | None = None, job_id: str | None = None) -> list[dict[str, str]]:
    """`scontrol show job` records (finished jobs stay there for MinJobAge) as dicts."""
    args = ["scontrol", "--oneliner", "show", "job"] + ([job_id] if job_id else [])
    done = subprocess.run(args, capture_output=True, text=True, timeout=10, check=True)
    records = []
    for line in done.stdout.splitlines():
        record = dict(field.split("=", 1) for field in line.split() if "=" in field)
        if job_name is None or record.get("JobName") == job_name:
            records.append(record)
    return records


def test_auto_status_command_becomes_sacct(tmp_path):
    done = cookiecutter(tmp_path, {"slurm_account": ACCOUNT}, offline=False)
    assert done.returncode == 0, done.stderr
    assert warnings_of(done.stderr) == []
    profile = yaml.safe_load((tmp_path / PROFILE).read_text())
    assert profile["slurm-status-command"] == "sacct"
    assert profile["default-resources"]["slurm_account"] == ACCOUNT


def test_an_unknown_account_is_refused_with_the_real_list(tmp_path):
    done = cookiecutter(tmp_path, {"slurm_account": "nosuch"}, offline=False)
    assert done.returncode != 0
    assert ("ERROR slurm_account: 'nosuch' is not an account of user root on this cluster. "
            f"Accepted: {ACCOUNT}, root, or empty for the default. Example: {ACCOUNT}") in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_doctor_fails_an_unknown_account(bake):
    project = bake(slurm_account="nosuch")  # baked offline, as on a laptop
    code, checks = doctor(project)
    assert code == 1
    assert checks["slurm_account"] == {
        "name": "slurm_account", "status": "FAIL",
        "saw": "slurm_account: 'nosuch' is not an account of user root on this cluster",
        "fix": "set default-resources: slurm_account in profiles/slurm/config.yaml "
               f"to one of: {ACCOUNT}, root, or empty for the default",
    }
    # The coordinator's account lives in its own file and is checked there too.
    assert checks["coordinator_account"]["status"] == "FAIL"
    assert checks["coordinator_account"]["fix"] == (
        f"set COORDINATOR_ACCOUNT in profiles/slurm/coordinator.env to one of: {ACCOUNT}, root, or empty for the default")
    assert checks["cluster"]["saw"].endswith("accounting on; status command squeue")
    assert "status_command" not in checks


@pytest.mark.parametrize("answer", [ACCOUNT, ""], ids=["account-lab1", "no-account"])
def test_every_job_of_a_run_is_charged_to_the_account(bake, answer):
    """An empty answer leaves the choice to SLURM: the user's default account (lab1)."""
    project = bake(live=True, slurm_account=answer, latency_wait="5")
    set_config(project, {"example": "resources/example_repeats.bed"}, "L1")
    job_id = submit(project)
    status = wait_for_state(project, {"completed", "failed", "cancelled", "timeout", "stale"}, timeout=300)
    log = (project / "logs" / "coordinator" / f"{job_id}.log").read_text()
    assert status["state"] == "completed", f"{status}\n{log}"
    assert "Traceback" not in log
    assert (project / "results" / "example.sorted.bed").is_file()

    [coordinator] = jobs_in_controller(job_id=job_id)
    assert coordinator["Account"] == ACCOUNT
    rule_jobs = jobs_in_controller(job_name=run_id_of(project, job_id))
    # Every step but the target rule 'all', which runs inside the coordinator.
    assert len(rule_jobs) == status["steps_total"] - 1, rule_jobs
    assert {job["Account"] for job in rule_jobs} == {ACCOUNT}
    assert {job["JobState"] for job in rule_jobs} == {"COMPLETED"}
    assert "coordinator: job" in make(project, "status").stdout
