#!/usr/bin/env python3
"""Where this project's cluster run stands: the coordinator's state, progress,
its rule jobs in SLURM, and the end of its log. Returns within seconds.

Usage: scripts/status.py [--json | --field state] [--lines N]

Exit codes: 0 completed; 1 failed, cancelled, timed out or stale (needs
'make submit'); 2 usage; 3 pending or running; 4 nothing submitted yet;
5 the SLURM controller did not answer.

Standard library only: the scripts in this folder use it as the one place that
decides what state a run is in.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
COORDINATOR_DIR = PROJECT_DIR / "logs" / "coordinator"
LATEST_JOB_FILE = COORDINATOR_DIR / "latest_job_id"
LOCKS_DIR = PROJECT_DIR / ".snakemake" / "locks"
SLURM_TIMEOUT_S = float(os.environ.get("SLURM_TIMEOUT_S", "5"))

EXIT_CODES = {
    "completed": 0,
    "failed": 1,
    "cancelled": 1,
    "timeout": 1,
    "stale": 1,
    "pending": 3,
    "running": 3,
    "none": 4,
    "unknown": 5,
}
ACTIVE_SLURM_STATES = {
    "PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED",
    "REQUEUED", "RESIZING", "SIGNALING", "STAGE_OUT",
}
# States SLURM keeps showing for a while after a job ended without our record.
ENDED_SLURM_STATES = {"CANCELLED": "cancelled", "TIMEOUT": "timeout", "DEADLINE": "timeout"}
HINTS = {
    "none": "nothing submitted yet: 'make submit' starts a run",
    "pending": "waiting for SLURM to start the coordinator; 'make status' again to follow",
    "running": "'make status' again to follow; 'make cancel' stops the run cleanly",
    "completed": "done: the results are in results/",
    "failed": "the run failed: read the log lines above, fix the cause, then 'make submit' resumes",
    "cancelled": "the run was cancelled: 'make submit' resumes it",
    "timeout": "the coordinator ran out of time and stopped cleanly: 'make submit' resumes the run",
    "stale": "the coordinator was killed and left its lock behind: 'make submit' recovers and resumes",
    "unknown": "the SLURM controller did not answer; try again in a minute, or ask your admins",
}

STEPS_RE = re.compile(r"^(\d+) of (\d+) steps \((\d+(?:\.\d+)?)%\) done", re.MULTILINE)
TOTAL_RE = re.compile(r"^total\s+(\d+)\s*$", re.MULTILINE)
RUN_ID_RE = re.compile(r"^SLURM run ID: (\S+)", re.MULTILINE)
NOTHING_TO_DO = "Nothing to be done"


class ControllerUnreachable(Exception):
    pass


@dataclass
class RuleJob:
    job_id: str
    rule: str
    state: str


@dataclass
class Status:
    state: str
    job_id: str | None = None
    steps_done: int | None = None
    steps_total: int | None = None
    percent: float | None = None
    rule_jobs: list[RuleJob] = field(default_factory=list)
    log: str | None = None
    started: str | None = None
    ended: str | None = None
    exit_code: int | None = None
    hint: str = ""
    log_tail: list[str] = field(default_factory=list)


def squeue(*args: str) -> list[list[str]]:
    """squeue rows split on '|'; [] when SLURM no longer knows the job."""
    try:
        done = subprocess.run(
            ["squeue", "--noheader", *args], capture_output=True, text=True, timeout=SLURM_TIMEOUT_S
        )
    except (subprocess.TimeoutExpired, OSError) as error:
        raise ControllerUnreachable(str(error)) from None
    if done.returncode != 0:
        if "Invalid job id" in done.stderr:
            return []
        raise ControllerUnreachable(done.stderr.strip())
    return [line.split("|") for line in done.stdout.splitlines() if line.strip()]


def read_end_record(job_id: str) -> dict[str, str]:
    path = COORDINATOR_DIR / f"{job_id}.end"
    if not path.is_file():
        return {}
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def state_from_end_record(record: dict[str, str]) -> str:
    if record.get("reason") == "walltime":
        return "timeout"
    if record.get("reason") == "cancelled":
        return "cancelled"
    return "completed" if record.get("exit_code") == "0" else "failed"


def locks_present() -> bool:
    return LOCKS_DIR.is_dir() and any(LOCKS_DIR.iterdir())


def parse_progress(log_text: str, status: Status) -> None:
    totals = TOTAL_RE.findall(log_text)
    if totals:
        status.steps_total = int(totals[0])
        status.steps_done = 0
        status.percent = 0.0
    steps = STEPS_RE.findall(log_text)
    if steps:
        done, total, percent = steps[-1]
        status.steps_done, status.steps_total, status.percent = int(done), int(total), float(percent)
    elif NOTHING_TO_DO in log_text:
        status.steps_done, status.steps_total, status.percent = 0, 0, 100.0


def rule_jobs_of(run_id: str) -> list[RuleJob]:
    jobs = []
    for job_id, state, comment in squeue("--name", run_id, "--format", "%i|%T|%k"):
        rule = comment.removeprefix("rule_").split("_wildcards_")[0]
        jobs.append(RuleJob(job_id=job_id, rule=rule, state=state))
    return jobs


def current_status(tail_lines: int) -> Status:
    job_id = LATEST_JOB_FILE.read_text().strip() if LATEST_JOB_FILE.is_file() else ""
    if not job_id:
        return Status(state="none")
    log_path = COORDINATOR_DIR / f"{job_id}.log"
    status = Status(state="unknown", job_id=job_id, log=str(log_path.relative_to(PROJECT_DIR)))
    log_text = log_path.read_text(errors="replace") if log_path.is_file() else ""
    parse_progress(log_text, status)
    status.log_tail = log_text.splitlines()[-tail_lines:] if tail_lines > 0 else []

    record = read_end_record(job_id)
    try:
        if record:
            status.state = state_from_end_record(record)
            status.exit_code = int(record["exit_code"]) if record.get("exit_code", "").isdigit() else None
            status.started, status.ended = record.get("started"), record.get("ended")
        else:
            rows = squeue("--jobs", job_id, "--format", "%T|%S")
            slurm_state, started = rows[0] if rows else ("GONE", None)
            if slurm_state in ACTIVE_SLURM_STATES:
                status.state = "pending" if slurm_state in {"PENDING", "CONFIGURING"} else "running"
                status.started = started if status.state == "running" else None
            else:
                # Ended without writing its record: killed outright (SIGKILL,
                # node failure, time limit without the warning signal).
                status.state = ENDED_SLURM_STATES.get(slurm_state, "failed")
        if status.state in {"failed", "cancelled", "timeout"} and locks_present():
            status.state = "stale"
        run_ids = RUN_ID_RE.findall(log_text)
        if run_ids and status.state in {"running", "stale", "unknown"}:
            status.rule_jobs = rule_jobs_of(run_ids[-1])
    except ControllerUnreachable:
        status.state = "unknown"
    status.hint = HINTS[status.state]
    return status


def print_text(status: Status) -> None:
    if status.job_id is None:
        print(f"coordinator: none ({status.hint})")
        return
    since = f" since {status.started}" if status.started and status.state == "running" else ""
    print(f"coordinator: job {status.job_id} {status.state}{since}")
    if status.steps_total is not None:
        print(f"progress:    {status.steps_done} of {status.steps_total} steps ({status.percent:g}%)")
    for job in status.rule_jobs:
        print(f"rule job:    {job.job_id} {job.rule} {job.state}")
    print(f"log:         {status.log}")
    if status.log_tail:
        print("--- end of the coordinator log ---")
        print("\n".join(status.log_tail))
        print("---")
    print(f"next:        {status.hint}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="State of this project's cluster run.")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="one JSON object on stdout")
    form.add_argument("--field", choices=["state", "job_id"], help="print only this field")
    parser.add_argument("--lines", type=int, default=10, help="lines of the log to show (default 10)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as error:
        return 0 if error.code == 0 else 2
    status = current_status(args.lines if not args.field else 0)
    if args.json:
        print(json.dumps(asdict(status), indent=2))
    elif args.field:
        print(getattr(status, args.field) or "")
    else:
        print_text(status)
    return EXIT_CODES[status.state]


if __name__ == "__main__":
    sys.exit(main())
