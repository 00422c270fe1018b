"""Answers checked against the live local cluster: partitions, a cluster without
accounting, and a controller that does not answer (test_accounting.py has the
cluster with accounting)."""

from __future__ import annotations

import time

import pytest
import yaml

from support import warnings_of
from test_answers import cookiecutter

pytestmark = pytest.mark.slurm


def test_missing_partition_is_refused_with_the_real_list(tmp_path):
    done = cookiecutter(tmp_path, {"slurm_partition": "debug,gpu", "coordinator_partition": "long"}, offline=False)
    assert done.returncode != 0
    assert ("ERROR slurm_partition: 'debug,gpu' lists gpu, which is not a partition of this cluster. "
            "Accepted: debug, long. Example: debug") in done.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.no_accounting
def test_sacct_is_refused_where_accounting_is_off(tmp_path):
    done = cookiecutter(tmp_path, {"status_command": "sacct"}, offline=False)
    assert done.returncode != 0
    assert "ERROR status_command: 'sacct' needs SLURM accounting, which this cluster has disabled" in done.stderr


@pytest.mark.no_accounting
def test_auto_status_command_becomes_squeue_without_accounting(tmp_path):
    done = cookiecutter(tmp_path, {"slurm_partition": "long"}, offline=False)
    assert done.returncode == 0, done.stderr
    assert warnings_of(done.stderr) == []
    profile = yaml.safe_load((tmp_path / "repeat_family_analysis/profiles/slurm/config.yaml").read_text())
    assert profile["slurm-status-command"] == "squeue"
    assert profile["default-resources"]["slurm_partition"] == "long"


def test_a_silent_controller_costs_one_timeout_and_a_warning(tmp_path, slurmctld_stopped):
    started = time.monotonic()
    done = cookiecutter(tmp_path, {}, offline=False, timeout=30)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert elapsed < 10, f"baking took {elapsed:.1f} s with the controller down"
    assert "WARNING cluster checks skipped: the SLURM controller did not answer" in done.stderr
    profile = yaml.safe_load((tmp_path / "repeat_family_analysis/profiles/slurm/config.yaml").read_text())
    assert profile["slurm-status-command"] == "squeue"


def test_a_missing_partition_shared_by_the_coordinator_is_reported_once(tmp_path):
    done = cookiecutter(tmp_path, {"slurm_partition": "gpu"}, offline=False)
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR ")]
    assert errors == ["ERROR slurm_partition: 'gpu' is not a partition of this cluster. "
                      "Accepted: debug, long. Example: debug"]


@pytest.mark.no_accounting
def test_an_account_that_cannot_be_checked_is_said_so(tmp_path):
    done = cookiecutter(tmp_path, {"slurm_account": "lab9"}, offline=False)
    assert done.returncode == 0, done.stderr
    assert "WARNING slurm_account: 'lab9' was not checked: this cluster has accounting disabled" in done.stderr


def test_a_bad_format_and_a_missing_partition_are_both_reported_in_one_round(tmp_path):
    done = cookiecutter(tmp_path, {"default_mem_mb": "4 gigs", "slurm_partition": "gpu"}, offline=False)
    assert done.returncode != 0
    errors = [line.split(":", 1)[0] for line in done.stderr.splitlines() if line.startswith("ERROR ")]
    assert errors == ["ERROR default_mem_mb", "ERROR slurm_partition"]
    assert list(tmp_path.iterdir()) == []
