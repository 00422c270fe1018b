"""When a run fails, `make status` says why: the rule, its SLURM job, how SLURM
ended it, the exit code, the logs and their last lines, and what to do. Each of
the four common endings is made to happen for real on the local cluster (which
enforces memory and time limits)."""

from __future__ import annotations

import pytest

from support import FAILING_TARGETS, add_failing_rules, make, status_json, submit, wait_for_state

pytestmark = pytest.mark.slurm


@pytest.fixture(scope="module")
def failed_run(cookies_session, tmp_path_factory):
    import os

    os.environ["SLURM_TEMPLATE_OFFLINE"] = "1"
    try:
        result = cookies_session.bake(extra_context={"latency_wait": "5"})
    finally:
        del os.environ["SLURM_TEMPLATE_OFFLINE"]
    assert result.exception is None
    project = result.project_path
    add_failing_rules(project)
    submit(project, "--keep-going", *FAILING_TARGETS)
    status = wait_for_state(project, {"failed", "completed", "stale", "cancelled", "timeout"}, timeout=400)
    yield project, status
    from support import cancel_everything_of

    cancel_everything_of(project)


def failure_of(status: dict, rule: str) -> dict:
    found = [f for f in status["failures"] if f["rule"] == rule]
    assert len(found) == 1, status["failures"]
    return found[0]


def test_the_run_is_reported_failed_with_all_four_jobs(failed_run):
    _, status = failed_run
    assert status["state"] == "failed"
    assert sorted(f["rule"] for f in status["failures"]) == ["eat_memory", "exit_nonzero", "forget_output", "overrun"]
    for failure in status["failures"]:
        assert failure["slurm_job_id"].isdigit()
        assert failure["slurm_log"].startswith(f".snakemake/slurm_logs/rule_{failure['rule']}/")
        assert failure["slurm_log_tail"], failure
        assert failure["log"] == f"logs/rules/{failure['rule']}.log"


def test_out_of_memory(failed_run):
    failure = failure_of(failed_run[1], "eat_memory")
    assert failure["cause"].startswith("out of memory: it used ")
    assert failure["cause"].endswith(" of 300 MB")
    assert any("Exceeded job memory limit" in line for line in failure["slurm_log_tail"])
    assert failure["advice"].startswith("out of memory at mem_mb=300: give rule eat_memory more, e.g. "
                                        "'resources: mem_mb=600' in workflow/rules/failing.smk")


def test_time_limit(failed_run):
    failure = failure_of(failed_run[1], "overrun")
    assert failure["slurm_state"] == "TIMEOUT"
    assert failure["cause"] == "time limit reached"
    assert any("DUE TO TIME LIMIT" in line for line in failure["slurm_log_tail"])
    assert failure["advice"].startswith("out of time at runtime=1m: give rule overrun longer, e.g. "
                                        "'resources: runtime=\"2m\"'")


def test_non_zero_exit(failed_run):
    failure = failure_of(failed_run[1], "exit_nonzero")
    assert failure["slurm_state"] == "FAILED"
    assert (failure["exit_code"], failure["cause"]) == (3, "exited with code 3")
    assert failure["log_tail"] == ["cannot parse line 3 of the input"]
    assert failure["advice"].startswith("read the log lines above, fix rule exit_nonzero")


def test_missing_output_after_latency_wait(failed_run):
    failure = failure_of(failed_run[1], "forget_output")
    assert failure["cause"] == "missing outputs after latency-wait (5 s)"
    assert "raise latency-wait (now 5 s) in profiles/slurm/config.yaml" in failure["advice"]


def test_the_human_report_names_rule_job_cause_and_log_tail(failed_run):
    project, _ = failed_run
    text = make(project, "status").stdout
    status = status_json(project)
    for failure in status["failures"]:
        assert (f"failed:      rule {failure['rule']}, SLURM job {failure['slurm_job_id']} "
                f"{failure['slurm_state']}") in text
        assert failure["cause"] in text and failure["advice"] in text
    assert "  | cannot parse line 3 of the input" in text


def test_logs_of_one_rule(failed_run):
    project, _ = failed_run
    out = make(project, "logs", "RULE=exit_nonzero").stdout
    assert out.startswith("==> ")
    assert "exit_nonzero" in out.splitlines()[0]
    missing = make(project, "logs", "RULE=no_such_rule", check=False)
    assert missing.returncode != 0 and "no log of rule no_such_rule yet" in missing.stderr
