#!/usr/bin/env python3
"""Where this project's cluster run stands: the coordinator's state, progress,
its rule jobs in SLURM, and the end of its log. Returns within seconds.

Usage: scripts/status.py [--json | --field state] [--lines N]

Exit codes (of the report, --json and --field state; other fields exit 0):
0 completed; 1 failed, cancelled, timed out or stale (needs 'make submit');
2 usage; 3 pending or running; 4 nothing submitted yet; 5 the SLURM
controller did not answer; 6 status.py itself failed (the state is not known).

Standard library only: the scripts in this folder use it as the one place that
decides what state a run is in.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

# Its own directory, also where Python does not add it (PYTHONSAFEPATH).
sys.path.insert(0, str(Path(__file__).resolve().parent))

from failures import Failure, find_failures  # noqa: E402

PROJECT_DIR = Path(__file__).resolve().parent.parent
COORDINATOR_DIR = PROJECT_DIR / "logs" / "coordinator"
LATEST_JOB_FILE = COORDINATOR_DIR / "latest_job_id"
LOCKS_DIR = PROJECT_DIR / ".snakemake" / "locks"
FOREGROUND_LOCK = PROJECT_DIR / ".snakemake" / "foreground_run.flock"
JOB_ID_RE = re.compile(r"[0-9]+")
# The same rule as scripts/common.sh: seconds above 0, at most 9999.
SLURM_TIMEOUT_RE = re.compile(r"[0-9]{1,4}(\.[0-9]+)?")
if not SLURM_TIMEOUT_RE.fullmatch(os.environ.get("SLURM_TIMEOUT_S", "5")) \
        or float(os.environ.get("SLURM_TIMEOUT_S", "5")) <= 0:
    print(f"status.py: SLURM_TIMEOUT_S must be seconds above 0, at most 9999 (such as 5 or 2.5), "
          f"not {os.environ['SLURM_TIMEOUT_S']!r}", file=sys.stderr)
    sys.exit(2)
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
# status.py itself failed (a bug, a broken Python): never to be read as a state.
EXIT_INTERNAL_ERROR = 6
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
    "unknown": "the SLURM controller did not answer; nothing was changed, ask again in a minute",
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
    reason: str = ""


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
    problem: str = ""
    coordinator_name: str = ""
    foreground_run: bool = False
    failures: list[Failure] = field(default_factory=list)
    log_tail: list[str] = field(default_factory=list)


# An squeue error within this many seconds is a refused query, worth one more try.
QUICK_ERROR_S = 2


def squeue(*args: str) -> list[list[str]]:
    """squeue rows split on '|'; [] when SLURM no longer knows the job.

    A busy controller sometimes refuses one query at once ("Socket timed out",
    "Zero Bytes were transmitted"): such a quick error is asked once more; a
    timeout, or an error that took seconds (a controller that is down), is not.
    """
    for attempt in (1, 2):
        started = time.monotonic()
        try:
            done = subprocess.run(
                ["squeue", "--noheader", *args], capture_output=True, text=True, timeout=SLURM_TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            raise ControllerUnreachable(f"squeue did not answer within {SLURM_TIMEOUT_S:g} s") from None
        except OSError as error:
            raise ControllerUnreachable(str(error)) from None
        if done.returncode == 0:
            return [line.split("|") for line in done.stdout.splitlines() if line.strip()]
        if "Invalid job id" in done.stderr:
            return []
        if attempt == 1 and time.monotonic() - started < QUICK_ERROR_S:
            time.sleep(1)
        else:
            break
    raise ControllerUnreachable(done.stderr.strip() or f"squeue exited with {done.returncode}")


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
    for job_id, state, reason, comment in squeue("--name", run_id, "--format", "%i|%T|%r|%k"):
        rule = comment.removeprefix("rule_").split("_wildcards_")[0]
        jobs.append(RuleJob(job_id=job_id, rule=rule, state=state, reason="" if reason == "None" else reason))
    return jobs


def profile_latency_wait() -> str:
    match = re.search(r"^latency-wait:\s*(\d+)", (PROJECT_DIR / "profiles/slurm/config.yaml").read_text(), re.MULTILINE)
    return match.group(1) if match else "?"


def coordinator_job_name() -> str:
    """The SLURM job name of every coordinator of this project: its directory name
    and a digest of its path, so that SLURM can be asked for this project's
    coordinators even when the record of the last one is lost."""
    digest = hashlib.sha1(str(PROJECT_DIR).encode()).hexdigest()[:8]
    # squeue --name splits at commas; keep the name to characters SLURM passes through.
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", PROJECT_DIR.name)
    return f"{name}_coordinator_{digest}"


def recorded_job_id() -> str | None:
    text = LATEST_JOB_FILE.read_text().strip() if LATEST_JOB_FILE.is_file() else ""
    return text if JOB_ID_RE.fullmatch(text) else None


def record_job_id(job_id: str) -> None:
    COORDINATOR_DIR.mkdir(parents=True, exist_ok=True)
    partial = LATEST_JOB_FILE.with_name(LATEST_JOB_FILE.name + ".new")
    partial.write_text(job_id + "\n")
    partial.replace(LATEST_JOB_FILE)


def coordinators_in_slurm() -> dict[str, tuple[str, str]]:
    """{job id: (SLURM state, start time)} of this project's coordinators that SLURM still knows."""
    rows = squeue("--name", coordinator_job_name(), "--states=all", "--format", "%i|%T|%S")
    return {job_id: (state, started) for job_id, state, started in rows}


# Set by scripts/snakemake.sh for its Snakemake, and so inherited by every rule
# that Snakemake starts: those do not inherit the lock's descriptor, and may
# outlive a Snakemake killed outright.
FOREGROUND_RUN_VAR = "SNAKEMAKE_TEMPLATE_FOREGROUND_RUN"


def foreground_processes_alive() -> bool:
    """Whether any process (of this user, readable in /proc) carries this project's run marker."""
    marker = f"\0{FOREGROUND_RUN_VAR}={PROJECT_DIR}\0".encode()
    try:
        entries = os.scandir("/proc")
    except OSError:
        return False  # no /proc (macOS): the lock alone tells
    with entries:
        for entry in entries:
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry.name}/environ", "rb") as handle:
                    if marker in b"\0" + handle.read():
                        return True
            except OSError:
                continue
    return False


def foreground_run_active() -> bool:
    """Whether a Snakemake started through scripts/snakemake.sh (make local, clean,
    ...) runs in this project: it holds a shared lock on FOREGROUND_LOCK, or
    processes it started still carry its marker."""
    if foreground_processes_alive():
        return True
    if not FOREGROUND_LOCK.is_file():
        return False
    with open(FOREGROUND_LOCK, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def current_status(tail_lines: int) -> Status:
    status = Status(state="none", coordinator_name=coordinator_job_name(), foreground_run=foreground_run_active())
    job_id = recorded_job_id()
    if job_id is None and LATEST_JOB_FILE.is_file():
        status.problem = f"{LATEST_JOB_FILE.relative_to(PROJECT_DIR)} holds no job id"
    in_slurm: dict | None = None
    # Where sbatch is, a coordinator may be queued even without a record of it.
    slurm_client = shutil.which("squeue") or shutil.which("sbatch")
    try:
        if job_id is not None or slurm_client:
            in_slurm = coordinators_in_slurm()
    except ControllerUnreachable as error:
        status.problem = str(error)
    if in_slurm:
        active = sorted((j for j, (state, _) in in_slurm.items() if state in ACTIVE_SLURM_STATES), key=int)
        if active and active[-1] != job_id:
            # A coordinator of this project that the record does not name (sbatch
            # answered too late, or the record was lost): follow that one.
            job_id = active[-1]
            record_job_id(job_id)
    if job_id is None:
        status.state = "unknown" if in_slurm is None and slurm_client else "none"
        status.hint = HINTS[status.state]
        return status

    status.job_id = job_id
    log_path = COORDINATOR_DIR / f"{job_id}.log"
    status.log = str(log_path.relative_to(PROJECT_DIR))
    log_text = log_path.read_text(errors="replace") if log_path.is_file() else ""
    parse_progress(log_text, status)
    status.log_tail = log_text.splitlines()[-tail_lines:] if tail_lines > 0 else []

    record = read_end_record(job_id)
    slurm_state, started = (in_slurm or {}).get(job_id, ("GONE", None))
    if in_slurm is not None and slurm_state in ACTIVE_SLURM_STATES:
        # Active even if an end record exists: a requeued job starts over.
        status.state = "pending" if slurm_state in {"PENDING", "CONFIGURING"} else "running"
        status.started = started if status.state == "running" else None
    elif record:
        status.state = state_from_end_record(record)
        status.exit_code = int(record["exit_code"]) if JOB_ID_RE.fullmatch(record.get("exit_code", "")) else None
        status.started, status.ended = record.get("started"), record.get("ended")
    elif in_slurm is None:
        status.state = "unknown"
    else:
        # Ended without writing its record: killed outright (SIGKILL, node
        # failure, time limit without the warning signal).
        status.state = ENDED_SLURM_STATES.get(slurm_state, "failed")
    if status.state in {"failed", "cancelled", "timeout"} and locks_present() and not status.foreground_run:
        status.state = "stale"
    status.failures = find_failures(log_text, latency_wait=profile_latency_wait(), ask_slurm=in_slurm is not None)
    run_ids = RUN_ID_RE.findall(log_text)
    if run_ids and status.state in {"running", "stale"}:
        try:
            status.rule_jobs = rule_jobs_of(run_ids[-1])
        except ControllerUnreachable as error:
            status.state, status.problem = "unknown", str(error)
    status.hint = HINTS[status.state]
    return status


def print_failure(failure: Failure) -> None:
    where = f" ({failure.wildcards})" if failure.wildcards else ""
    job = f", SLURM job {failure.slurm_job_id}" if failure.slurm_job_id else ""
    state = f" {failure.slurm_state}" if failure.slurm_state else ""
    code = f", exit code {failure.exit_code}" if failure.exit_code is not None else ""
    code += f", signal {failure.signal}" if failure.signal else ""
    print(f"failed:      rule {failure.rule}{where}{job}{state}{code}: {failure.cause}")
    for label, path, lines in (("log", failure.log, failure.log_tail),
                               ("slurm log", failure.slurm_log, failure.slurm_log_tail)):
        if path:
            print(f"  {label + ':':<11}{path}")
            for line in lines:
                print(f"  | {line}")
    print(f"  advice:    {failure.advice}")


LOCAL_RUN_LINE = "local run:   a 'make local' run is active in this directory (it holds the lock until it ends)"


def print_text(status: Status) -> None:
    if status.job_id is None:
        print(f"coordinator: {status.state} ({status.hint})")
        if status.foreground_run:
            print(LOCAL_RUN_LINE)
        if status.problem:
            print(f"problem:     {status.problem}")
        return
    since = f" since {status.started}" if status.started and status.state == "running" else ""
    print(f"coordinator: job {status.job_id} {status.state}{since}")
    if status.foreground_run:
        print(LOCAL_RUN_LINE)
    if status.steps_total is not None:
        running = sorted({job.rule for job in status.rule_jobs if job.state == "RUNNING"})
        now = f", running: {', '.join(running)}" if running else ""
        print(f"progress:    {status.steps_done} of {status.steps_total} steps ({status.percent:g}%){now}")
    for job in status.rule_jobs:
        waiting = f" ({job.reason})" if job.reason else ""
        print(f"rule job:    {job.job_id} {job.rule} {job.state}{waiting}")
    if status.problem:
        print(f"problem:     {status.problem}")
    for failure in status.failures:
        print_failure(failure)
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
    form.add_argument("--field", choices=["state", "job_id", "coordinator_name", "foreground_run"],
                      help="print only this field")
    parser.add_argument("--lines", type=int, default=10, help="lines of the log to show (default 10)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as error:
        return 0 if error.code == 0 else 2
    status = current_status(args.lines if not args.field else 0)
    if args.json:
        print(json.dumps(asdict(status), indent=2))
    elif args.field:
        value = getattr(status, args.field)
        print(("yes" if value else "no") if isinstance(value, bool) else value or "")
        if args.field != "state":
            return 0
    else:
        print_text(status)
    return EXIT_CODES[status.state]


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # e.g. piped into head
        sys.exit(EXIT_CODES["unknown"])
    except Exception:  # noqa: BLE001 - an exit code of its own, so no caller takes it for a state
        import traceback

        traceback.print_exc()
        print("status.py: internal error (above); the state of the run is not known", file=sys.stderr)
        sys.exit(EXIT_INTERNAL_ERROR)
