"""What the SLURM cluster in reach says about itself: partitions, accounting, accounts.

Used at generation time (live checks of the answers) and by the project's doctor.
Every command runs under a timeout, so a controller that does not answer costs
at most one timeout and never hangs the caller. Standard library only.
"""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass, field

COMMAND_TIMEOUT_S = 5
# The SLURM executor plugin needs finished jobs to stay visible to squeue
# between two status checks.
MIN_JOB_AGE_FOR_SQUEUE_S = 120


@dataclass
class ClusterFacts:
    reachable: bool
    problem: str = ""
    partitions: list[str] = field(default_factory=list)
    accounting: bool | None = None
    min_job_age_s: int | None = None
    accounts: list[str] | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ClusterFacts":
        return cls(**data)


def run(command: list[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr); exit code 124 when the command timed out."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return 124, "", f"{command[0]} did not answer within {COMMAND_TIMEOUT_S} s"
    except OSError as error:
        return 127, "", str(error)
    return done.returncode, done.stdout, done.stderr.strip()


def current_user() -> str:
    # USER is unset in some batch and CI shells.
    return os.environ.get("USER") or getpass.getuser()


def parse_config(text: str) -> dict[str, str]:
    """`scontrol show config` lines 'Key = value' as a dict."""
    config = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            config[key.strip()] = value.strip()
    return config


def gather() -> ClusterFacts:
    """Ask the cluster; without sinfo or a controller, say why and stop there."""
    if shutil.which("sinfo") is None:
        return ClusterFacts(reachable=False, problem="no SLURM client here (sinfo not found)")
    code, out, err = run(["sinfo", "--noheader", "--format=%R"])
    if code != 0:
        return ClusterFacts(reachable=False, problem=f"the SLURM controller did not answer: {err or 'sinfo failed'}")
    facts = ClusterFacts(reachable=True, partitions=sorted(set(out.split())))

    code, out, _ = run(["scontrol", "show", "config"])
    if code == 0:
        config = parse_config(out)
        facts.accounting = config.get("AccountingStorageType", "accounting_storage/none") != "accounting_storage/none"
        age = config.get("MinJobAge", "").split()
        facts.min_job_age_s = int(age[0]) if age and age[0].isdigit() else None

    if facts.accounting:
        code, out, _ = run(
            ["sacctmgr", "--noheader", "--parsable2", "show", "associations",
             f"user={current_user()}", "format=account"]
        )
        if code == 0:
            facts.accounts = sorted({line.strip() for line in out.splitlines() if line.strip()})
    return facts


def resolve_status_command(choice: str, facts: ClusterFacts) -> str:
    """The plugin's status command: sacct only where accounting really works.

    Where accounting is disabled sacct answers every query with an error and the
    plugin loses track of its jobs, so 'auto' never picks it without proof.
    """
    if choice != "auto":
        return choice
    return "sacct" if facts.accounting else "squeue"


def check_against_cluster(
    answers: dict, facts: ClusterFacts, repeat_same_partition: bool = False
) -> tuple[list[str], list[str]]:
    """(errors, warnings) for answers that this cluster would refuse or mishandle.

    At generation the coordinator's partition and account are by default the
    rules' ones, and a second line about the same value only repeats the first;
    where the two live in different files (the doctor), repeat_same_partition
    reports both.
    """
    if not facts.reachable:
        return [], [f"cluster checks skipped: {facts.problem}; partitions, account and status command were not checked"]
    errors, warnings = [], []
    refused = set()
    for name in ("slurm_partition", "coordinator_partition"):
        value = str(answers.get(name, ""))
        if not value:
            continue  # refused by its own rule already
        missing = [p for p in value.split(",") if p not in facts.partitions]
        if not missing or (value in refused and not repeat_same_partition):
            continue
        refused.add(value)
        if missing == [value]:
            what = "is not a partition"
        elif len(missing) == 1:
            what = f"lists {missing[0]}, which is not a partition"
        else:
            what = f"lists {', '.join(missing)}, which are not partitions"
        errors.append(
            f"{name}: {value!r} {what} of this cluster. "
            f"Accepted: {', '.join(facts.partitions) or 'no partitions found'}. "
            f"Example: {facts.partitions[0] if facts.partitions else 'debug'}"
        )
    refused = set()
    for name in ("slurm_account", "coordinator_account"):
        account = str(answers.get(name, ""))
        if not account or (account in refused and not repeat_same_partition):
            continue
        if facts.accounting and facts.accounts is not None:
            if account.lower() not in {a.lower() for a in facts.accounts}:
                refused.add(account)
                errors.append(
                    f"{name}: {account!r} is not an account of user {current_user()} on this cluster. "
                    f"Accepted: {', '.join(facts.accounts) or 'none registered'}, or empty for the default. "
                    f"Example: {facts.accounts[0] if facts.accounts else ''}"
                )
        elif facts.accounting is False and name == "slurm_account":
            warnings.append(f"slurm_account: {account!r} was not checked: this cluster has accounting disabled")
    choice = answers.get("status_command", "auto")
    if choice == "sacct" and facts.accounting is False:
        errors.append(
            "status_command: 'sacct' needs SLURM accounting, which this cluster has disabled "
            "(the run would never see its jobs finish). Accepted: auto or squeue. Example: auto"
        )
    elif resolve_status_command(choice, facts) == "squeue" and facts.min_job_age_s is not None \
            and facts.min_job_age_s < MIN_JOB_AGE_FOR_SQUEUE_S:
        warnings.append(
            f"status_command: squeue is used, but this cluster forgets finished jobs after MinJobAge="
            f"{facts.min_job_age_s} s (under {MIN_JOB_AGE_FOR_SQUEUE_S} s): jobs may be lost; ask the admins to raise it"
        )
    return errors, warnings
