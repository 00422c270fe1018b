"""Why jobs of a run failed: which rule and wildcards, which SLURM job, how SLURM
says it ended, its exit code, its logs and their last lines, and what to do.

Read from the coordinator's log (Snakemake's own report of each job), the logs
the SLURM plugin keeps of failed jobs, and `scontrol show job` while SLURM
still remembers the job. Used by status.py; standard library only.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
WORKFLOW_DIR = PROJECT_DIR / "workflow"
TAIL_LINES = 5

RULE_BLOCK_RE = re.compile(r"^(?:local)?rule (\w+):\n((?:    .*\n)+)", re.MULTILINE)
SUBMITTED_RE = re.compile(r"^Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (.+)\)\.$", re.MULTILINE)
ERROR_BLOCK_RE = re.compile(r"^Error in rule (\w+):\n((?:    .*\n|        .*\n)+)", re.MULTILINE)
SLURM_MESSAGE_RE = re.compile(r"SLURM-job '(\d+)' failed.*?SLURM status is: '(\w+)'")
EXIT_STATUS_RE = re.compile(r"returned non-zero exit status (\d+)")
MISSING_OUTPUT_RE = re.compile(r"Missing files after (\d+) seconds")
SCONTROL_EXIT_RE = re.compile(r"\bExitCode=(\d+):(\d+)")
# What slurmstepd writes into a job's log when it kills the job for memory or time.
MEMORY_KILL_RE = re.compile(r"exceeded memory limit \((\d+) > (\d+)\)|Exceeded job memory limit|oom[-_ ]kill",
                            re.IGNORECASE)
TIME_KILL_RE = re.compile(r"DUE TO TIME LIMIT")
# Lines of a SLURM log worth showing: what killed the job, or what failed in it.
NOTABLE_LINE_RE = re.compile(r"^(?:slurmstepd\S*: error|srun: error|\w+(?:Error|Exception)\b|Command .* returned "
                             r"non-zero exit status|Job \d+ +completed successfully, but some output files are missing)")
RESOURCE_RE = re.compile(r"\b(mem_mb|runtime)=(\d+)")


@dataclass
class Failure:
    rule: str
    wildcards: str = ""
    jobid: str = ""  # Snakemake's number of the job within the run
    slurm_job_id: str = ""
    slurm_state: str = ""
    exit_code: int | None = None
    signal: int | None = None
    cause: str = ""
    log: str = ""
    slurm_log: str = ""
    log_tail: list[str] = field(default_factory=list)
    slurm_log_tail: list[str] = field(default_factory=list)
    advice: str = ""


def field_of(block: str, name: str) -> str:
    match = re.search(rf"^    {name}: (.*)$", block, re.MULTILINE)
    return match.group(1).strip() if match else ""


def tail(path: Path, lines: int = TAIL_LINES) -> list[str]:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if line.strip()][-lines:]


def notable_lines(text: str, lines: int = TAIL_LINES) -> list[str]:
    """The last error-looking lines of a SLURM log (its very end is Snakemake's farewell)."""
    notable = [line for line in text.splitlines()
               if NOTABLE_LINE_RE.search(line) and not line.startswith("WorkflowError")]
    return notable[-lines:] or [line for line in text.splitlines() if line.strip()][-lines:]


def relative(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(PROJECT_DIR))
    except ValueError:
        return path


def rule_file(rule: str) -> str:
    """The workflow file that defines a rule, relative to the project."""
    for path in [WORKFLOW_DIR / "Snakefile", *sorted(WORKFLOW_DIR.rglob("*.smk"))]:
        if path.is_file() and re.search(rf"^rule {re.escape(rule)}\s*:", path.read_text(), re.MULTILINE):
            return str(path.relative_to(PROJECT_DIR))
    return "the workflow"


def scontrol_exit_code(slurm_job_id: str) -> tuple[int | None, int | None]:
    """(exit code, signal) of a job while SLURM remembers it."""
    try:
        done = subprocess.run(["scontrol", "show", "job", slurm_job_id], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None, None
    match = SCONTROL_EXIT_RE.search(done.stdout)
    if not match or done.returncode != 0:
        return None, None
    return int(match.group(1)), int(match.group(2)) or None


def advise(failure: Failure, resources: dict[str, int], latency_wait: str) -> str:
    where = rule_file(failure.rule)
    if failure.cause.startswith("out of memory"):
        mem = resources.get("mem_mb")
        more = f"mem_mb={2 * mem}" if mem else "mem_mb=<more>"
        return (f"out of memory at mem_mb={mem}: give rule {failure.rule} more, e.g. 'resources: {more}' in "
                f"{where}, or under set-resources in profiles/slurm/config.yaml; then make submit")
    if failure.cause == "time limit reached":
        runtime = resources.get("runtime")
        more = f'runtime="{2 * runtime}m"' if runtime else 'runtime="<longer>"'
        return (f"out of time at runtime={runtime}m: give rule {failure.rule} longer, e.g. 'resources: {more}' "
                f"in {where}, or under set-resources in profiles/slurm/config.yaml; then make submit")
    if failure.slurm_state in {"NODE_FAIL", "BOOT_FAIL"}:
        return "the node failed, not the rule: make submit runs the job again (the plugin avoids that node)"
    if failure.cause.startswith("missing outputs"):
        return (f"rule {failure.rule} ended without writing its outputs: check its command in {where}; if they "
                f"appear only later on a slow filesystem, raise latency-wait (now {latency_wait} s) in "
                "profiles/slurm/config.yaml")
    if failure.slurm_state == "CANCELLED":
        return "the job was cancelled: make submit runs it again"
    return f"read the log lines above, fix rule {failure.rule} (in {where}) or its input, then make submit"


def find_failures(log_text: str, latency_wait: str = "?", ask_slurm: bool = True) -> list[Failure]:
    """Every job that the coordinator's log reports as failed, newest last."""
    submitted_blocks = {}
    for rule, block in RULE_BLOCK_RE.findall(log_text):
        jobid = field_of(block, "jobid")
        if jobid:
            submitted_blocks[jobid] = (rule, block)
    slurm_jobs = {jobid: (slurm_id, log) for jobid, slurm_id, log in SUBMITTED_RE.findall(log_text)}

    failures = []
    for rule, block in ERROR_BLOCK_RE.findall(log_text):
        failure = Failure(rule=rule, jobid=field_of(block, "jobid"))
        _, submitted = submitted_blocks.get(failure.jobid, (rule, ""))
        failure.wildcards = field_of(submitted, "wildcards")
        resources = {k: int(v) for k, v in RESOURCE_RE.findall(field_of(submitted, "resources"))}
        message = field_of(block, "message")
        slurm = SLURM_MESSAGE_RE.search(message)
        failure.slurm_job_id, slurm_log = slurm_jobs.get(failure.jobid, ("", ""))
        failure.slurm_job_id = field_of(block, "external_jobid") or failure.slurm_job_id
        if slurm:
            failure.slurm_job_id, failure.slurm_state = slurm.group(1), slurm.group(2)
        logs = [part.strip() for part in field_of(block, "log").split(" (check log")[0].split(",") if part.strip()]
        rule_logs = [log for log in logs if "/.snakemake/slurm_logs/" not in log]
        failure.log = relative(rule_logs[0]) if rule_logs else ""
        failure.slurm_log = relative(slurm_log) if slurm_log else ""
        failure.log_tail = tail(PROJECT_DIR / failure.log) if failure.log else []
        slurm_log_text = (PROJECT_DIR / failure.slurm_log).read_text(errors="replace") \
            if failure.slurm_log and (PROJECT_DIR / failure.slurm_log).is_file() else ""
        failure.slurm_log_tail = notable_lines(slurm_log_text) if slurm_log_text else []

        exit_status = EXIT_STATUS_RE.findall(slurm_log_text)
        missing = MISSING_OUTPUT_RE.search(slurm_log_text)
        memory_kill = MEMORY_KILL_RE.search(slurm_log_text)
        if exit_status:
            failure.exit_code = int(exit_status[-1])
        elif failure.slurm_job_id and ask_slurm:
            failure.exit_code, failure.signal = scontrol_exit_code(failure.slurm_job_id)
        if missing:
            failure.cause = f"missing outputs after latency-wait ({missing.group(1)} s)"
        elif failure.slurm_state == "OUT_OF_MEMORY" or memory_kill:
            used = f": it used {int(memory_kill.group(1)) // 2**20} MB of {int(memory_kill.group(2)) // 2**20} MB" \
                if memory_kill and memory_kill.group(1) else ""
            failure.cause = f"out of memory{used}"
        elif failure.slurm_state in {"TIMEOUT", "DEADLINE"} or TIME_KILL_RE.search(slurm_log_text):
            failure.cause = "time limit reached"
        elif failure.slurm_state in {"NODE_FAIL", "BOOT_FAIL"}:
            failure.cause = "node failure"
        elif failure.slurm_state == "CANCELLED":
            failure.cause = "cancelled"
        elif failure.exit_code:
            failure.cause = f"exited with code {failure.exit_code}"
        else:
            failure.cause = "failed"
        failure.advice = advise(failure, resources, latency_wait)
        failures.append(failure)
    return failures
