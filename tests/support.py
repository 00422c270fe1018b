"""Helpers for the template's tests: commands in a baked project, and expected outputs
computed independently of the workflow (awk and sort, not the project's Python)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VENV_BIN = str(Path(sys.executable).parent)
TEMPLATE_DIR = Path(__file__).resolve().parent.parent


def project_env(**extra: str) -> dict[str, str]:
    """The environment a user has after activating the template's venv."""
    env = os.environ.copy()
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    # Tests run under `make test`; a user's make in the project is not a sub-make.
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"):
        env.pop(name, None)
    env.update(extra)
    return env


def run(args, cwd: Path | None = None, timeout: float = 120, env: dict | None = None, check: bool = False):
    done = subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env or project_env()
    )
    if check and done.returncode != 0:
        raise AssertionError(f"{args} exited {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}")
    return done


def make(project: Path, *targets: str, timeout: float = 120, check: bool = True, env: dict | None = None):
    """make TARGETS in the project directory, as a user who has cd'ed there."""
    return run(["make", *targets], cwd=project, timeout=timeout, check=check, env=env)


ACTIVE_STATES = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED"}


def warnings_of(stderr: str) -> list[str]:
    """The WARNING lines of a generation, less the one about a template with
    uncommitted changes (the template's own working tree while it is edited)."""
    return [line for line in stderr.splitlines()
            if line.startswith("WARNING ") and "has uncommitted changes" not in line]


def cluster_answers() -> bool:
    try:
        return subprocess.run(["sinfo", "--noheader"], capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def cluster_accounting() -> bool | None:
    """Whether the cluster in reach keeps accounts (slurmdbd); None when it does not answer."""
    try:
        done = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    for line in done.stdout.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "AccountingStorageType":
            return value.strip() != "accounting_storage/none"
    return False


def node_ready() -> bool:
    try:
        done = subprocess.run(["sinfo", "--noheader", "--Node", "--format=%t"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and done.stdout.strip().startswith(("idle", "mix", "alloc"))


def status_json(project: Path) -> dict:
    done = run([sys.executable, str(project / "scripts" / "status.py"), "--json"], timeout=30)
    return json.loads(done.stdout)


def wait_for_state(project: Path, states: set[str], timeout: float = 300, poll: float = 2) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = status_json(project)
        if status["state"] in states:
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"state stayed {status['state']!r}, not one of {states}, for {timeout} s: {status}")
        time.sleep(poll)


def expected_sorted_family(bed: Path, name_pattern: str) -> str:
    """Header lines first, then the intervals whose name matches, by chromosome, start, end."""
    script = r"""
        awk -F'\t' -v headers="$2/headers" '
            BEGIN { pattern = ENVIRON["NAME_PATTERN"] }
            /^(track|browser|#)/ { print > headers; next }
            NF > 0 && (pattern == "" || $4 ~ pattern)' "$1" |
        LC_ALL=C sort -s -t "$(printf '\t')" -k1,1 -k2,2n -k3,3n > "$2/data"
        touch "$2/headers"
        cat "$2/headers" "$2/data"
    """
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run(
            ["bash", "-c", script, "expected", str(bed), scratch],
            capture_output=True, text=True, check=True, env={**os.environ, "NAME_PATTERN": name_pattern},
        )
    return done.stdout


def set_config(project: Path, samples: dict[str, str], family_pattern: str) -> None:
    config = {"samples": samples, "family_pattern": family_pattern}
    (project / "config" / "config.yaml").write_text(json.dumps(config, indent=2) + "\n")


def cancel_everything_of(project: Path) -> None:
    """Leave no job of this project in the queue (teardown after a failed test),
    and wait until they are gone, so that nothing writes into the directory later."""
    coordinator_dir = project / "logs" / "coordinator"
    if not coordinator_dir.is_dir():
        return
    # A coordinator still pending has written no log yet: its record and its name find it.
    coordinators = {log.stem for log in coordinator_dir.glob("*.log")}
    latest = coordinator_dir / "latest_job_id"
    if latest.is_file() and latest.read_text().strip().isdigit():
        coordinators.add(latest.read_text().strip())
    name = subprocess.run([sys.executable, str(project / "scripts/status.py"), "--field", "coordinator_name"],
                          capture_output=True, text=True, timeout=30).stdout.strip()
    if name:
        coordinators |= set(subprocess.run(["squeue", "--noheader", "--name", name, "--format=%i"],
                                           capture_output=True, text=True, timeout=10).stdout.split())
    coordinators = sorted(coordinators)
    run_ids = [line.split(": ", 1)[1] for log in coordinator_dir.glob("*.log")
               for line in log.read_text(errors="replace").splitlines() if line.startswith("SLURM run ID: ")]
    if coordinators:
        subprocess.run(["scancel", *coordinators], capture_output=True, timeout=10)
    for run_id in run_ids:
        subprocess.run(["scancel", "--name", run_id], capture_output=True, timeout=10)

    def active() -> bool:
        states = subprocess.run(["squeue", "--noheader", "--format=%T", "--jobs", ",".join(coordinators)],
                                capture_output=True, text=True, timeout=10).stdout.split() if coordinators else []
        return bool(set(states) & ACTIVE_STATES) or any(queued_jobs(run_id) for run_id in run_ids)

    deadline = time.monotonic() + 60
    while active() and time.monotonic() < deadline:
        time.sleep(1)


TEST_RULES = """

rule slow_copy:
    input:
        "results/{name}.sorted.bed",
    output:
        "results/{name}.slow.bed",
    log:
        "logs/rules/slow_copy/{name}.log",
    shell:
        "sleep SLEEP_SECONDS; cp {input:q} {output:q} 2> {log:q}"


rule environment_report:
    output:
        "results/environment.txt",
    log:
        "logs/rules/environment_report.log",
    resources:
        mem_mb_per_cpu=500,
    shell:
        "env > {output:q} 2> {log:q}"
"""


def start_slow_local_run(project: Path, sleep_seconds: int = 60) -> subprocess.Popen:
    """`make local` of the slow test rule, in a process group of its own (for killpg)."""
    add_test_rules(project, sleep_seconds=sleep_seconds)
    return subprocess.Popen([str(project / "scripts/snakemake.sh"), "local", "results/example.slow.bed"],
                            cwd=project, env=project_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def add_test_rules(project: Path, sleep_seconds: int = 40) -> None:
    """A slow step after the example (results/<name>.slow.bed) and a rule that
    records its environment, as a user would add rules to the workflow."""
    (project / "workflow" / "rules" / "test_steps.smk").write_text(
        TEST_RULES.replace("SLEEP_SECONDS", str(sleep_seconds))
    )
    snakefile = project / "workflow" / "Snakefile"
    snakefile.write_text(snakefile.read_text() + '\n\ninclude: "rules/test_steps.smk"\n')


def submit(project: Path, *targets: str, env: dict | None = None) -> str:
    """`make submit` with Snakemake targets; returns the coordinator's job id."""
    args = [f"ARGS={' '.join(targets)}"] if targets else []
    done = make(project, "submit", *args, timeout=30, env=env)
    job_id = done.stdout.strip().splitlines()[-1]
    assert job_id.isdigit(), done.stdout + done.stderr
    return job_id


def coordinator_snakemake_pid(job_id: str) -> int:
    """Pid of the Snakemake that the coordinator job's batch script started."""
    batch_script = f"job{int(job_id):05d}/slurm_script".encode()
    batch_pids = set()
    parents = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        parents[int(proc.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        if batch_script in cmdline:
            batch_pids.add(int(proc.name))
    children = [pid for pid, parent in parents.items() if parent in batch_pids]
    assert len(children) == 1, f"expected one Snakemake under the batch script of job {job_id}: {children}"
    return children[0]


def queued_jobs(name: str) -> list[str]:
    done = subprocess.run(["squeue", "--noheader", "--name", name, "--format=%i %T"],
                          capture_output=True, text=True, timeout=10, check=True)
    return [line for line in done.stdout.splitlines() if line.split()[1] in ACTIVE_STATES]


def run_id_of(project: Path, job_id: str) -> str:
    log = (project / "logs" / "coordinator" / f"{job_id}.log").read_text()
    return log.split("SLURM run ID: ", 1)[1].split()[0]


def wait_until(predicate, timeout: float, message: str, poll: float = 1) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, message
        time.sleep(poll)


FAILING_RULES = """

rule eat_memory:
    output:
        "results/failures/memory.txt",
    log:
        "logs/rules/eat_memory.log",
    resources:
        mem_mb=300,
    shell:
        "python3 -c 'import time; block = b\\"x\\" * (1500 * 1024 * 1024); time.sleep(30)' 2> {log:q}"
        " && touch {output:q}"


rule overrun:
    output:
        "results/failures/time.txt",
    log:
        "logs/rules/overrun.log",
    resources:
        runtime=1,
    shell:
        "sleep 600 2> {log:q} && touch {output:q}"


rule exit_nonzero:
    output:
        "results/failures/exit.txt",
    log:
        "logs/rules/exit_nonzero.log",
    shell:
        "echo 'cannot parse line 3 of the input' > {log:q}; exit 3"


rule forget_output:
    output:
        "results/failures/missing.txt",
    log:
        "logs/rules/forget_output.log",
    shell:
        "echo 'done, or so it says' > {log:q}"
"""

FAILING_TARGETS = ["results/failures/memory.txt", "results/failures/time.txt", "results/failures/exit.txt",
                   "results/failures/missing.txt"]


def add_failing_rules(project: Path) -> None:
    """Four rules that fail the four common ways: memory, time, exit code, missing output."""
    (project / "workflow" / "rules" / "failing.smk").write_text(FAILING_RULES)
    snakefile = project / "workflow" / "Snakefile"
    snakefile.write_text(snakefile.read_text() + '\n\ninclude: "rules/failing.smk"\n')
