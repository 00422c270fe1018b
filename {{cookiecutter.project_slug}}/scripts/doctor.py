#!/usr/bin/env python3
"""Preflight: find the Snakemake-on-SLURM traps of this project and this shell
before they cost a run. One line per check: PASS, WARN or FAIL, what was seen,
and the fix.

Usage: scripts/doctor.py [--json] [--quick]
  --quick  only the checks that need no SLURM command (run by 'make submit')
Exit codes: 0 no FAIL; 1 at least one FAIL; 2 usage.

Standard library and PyYAML only. The rules are shared with the generation
hooks (answers.py, cluster_facts.py, profile_lint.py) and with status.py.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

PROJECT_DIR = Path(__file__).resolve().parent.parent


def find_snakemake() -> str | None:
    """The snakemake the lifecycle scripts run, found by their own rule (common.sh)."""
    common = Path(__file__).resolve().parent / "common.sh"
    done = subprocess.run(["bash", "-c", 'source "$1" && find_snakemake', "doctor", str(common)],
                          capture_output=True, text=True, timeout=10)
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def interpreter_of(executable: str) -> str:
    first = Path(executable).read_text(errors="replace").splitlines()[0]
    return first[2:].strip().split()[0] if first.startswith("#!") else sys.executable


try:
    import yaml
except ImportError:
    # This python3 lacks PyYAML; the one that runs Snakemake always has it.
    _snakemake = find_snakemake()
    _python = interpreter_of(_snakemake) if _snakemake else None
    if _python and os.path.realpath(_python) != os.path.realpath(sys.executable):
        os.execv(_python, [_python, __file__, *sys.argv[1:]])
    print("FAIL  versions             PyYAML is missing and no Snakemake was found. Fix: make venv", file=sys.stderr)
    sys.exit(1)

import answers  # noqa: E402
import cluster_facts  # noqa: E402
import coordinator_settings  # noqa: E402
import profile_lint  # noqa: E402
import status as run_status  # noqa: E402

SLURM_PROFILE_DIR = PROJECT_DIR / "profiles" / "slurm"
COORDINATOR_ENV = SLURM_PROFILE_DIR / "coordinator.env"
WORKFLOW_DIR = PROJECT_DIR / "workflow"
MIN_PLUGIN_VERSION = (2, 7)
MIN_SNAKEMAKE_VERSION = (9, 0)
NETWORK_FILESYSTEMS = {"nfs", "nfs4", "lustre", "gpfs", "beegfs", "cifs", "smb3", "cephfs", "fuse.sshfs", "panfs"}
LATENCY_WAIT_LOW_S = 5


@dataclass
class Check:
    name: str
    status: str  # PASS, WARN or FAIL
    saw: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.status:<4}  {self.name:<20} {self.saw}"
        return f"{text}. Fix: {self.fix}" if self.status != "PASS" and self.fix else text


def load_slurm_profile() -> dict:
    return profile_lint.load_profile(SLURM_PROFILE_DIR)


# --- this shell ------------------------------------------------------------------


def check_container(profile: dict) -> Check:
    container = os.environ.get("APPTAINER_CONTAINER") or os.environ.get("SINGULARITY_CONTAINER")
    if not container:
        return Check("container", "PASS", "not inside an Apptainer/Singularity container")
    nested = "apptainer" in str(profile.get("software-deployment-method", "")) or profile.get("use-singularity")
    saw = (f"inside the container {container}: the coordinator and the rule jobs run on the nodes outside it, "
           "where tools and variables that exist only in the container are missing")
    if nested:
        saw += "; the profile also runs rules in Apptainer, which then nests containers for local runs"
    return Check("container", "WARN", saw,
                 "submit from a shell outside the container, or install Snakemake and the tools on the cluster too")


def check_export_env() -> Check:
    # Anything but ALL (NONE, NIL, or a list of names) leaves PATH and conda behind.
    found = [f"{name}={os.environ[name]}" for name in ("SLURM_EXPORT_ENV", "SBATCH_EXPORT")
             if os.environ.get(name, "") and not os.environ[name].upper().startswith("ALL")]
    if not found:
        return Check("export-env", "PASS", "SLURM_EXPORT_ENV and SBATCH_EXPORT do not strip the job environment")
    return Check("export-env", "WARN",
                 f"{', '.join(found)}: jobs submitted from this shell start without PATH or conda "
                 "('make submit' clears it for its own jobs)",
                 "unset SLURM_EXPORT_ENV SBATCH_EXPORT")


def check_inherited_memory() -> Check:
    found = [f"{n}={os.environ[n]}" for n in ("SLURM_MEM_PER_NODE", "SLURM_MEM_PER_CPU", "SLURM_MEM_PER_GPU")
             if n in os.environ]
    if not found:
        return Check("inherited-memory", "PASS", "no SLURM_MEM_PER_* in the environment")
    return Check("inherited-memory", "WARN",
                 f"{', '.join(found)} inherited: srun aborts with 'SLURM_MEM_PER_CPU, SLURM_MEM_PER_GPU, and "
                 "SLURM_MEM_PER_NODE are mutually exclusive' in jobs started from here ('make submit' clears them)",
                 "unset SLURM_MEM_PER_NODE SLURM_MEM_PER_CPU SLURM_MEM_PER_GPU")


def check_inside_job() -> Check:
    job_id = os.environ.get("SLURM_JOB_ID")
    if not job_id:
        return Check("inside-slurm-job", "PASS", "not inside a SLURM job")
    return Check("inside-slurm-job", "WARN",
                 f"inside SLURM job {job_id}: a Snakemake run in this shell's foreground dies with that job",
                 "use 'make submit', which runs the coordinator as its own job")


# --- the profile and the workflow ----------------------------------------------------


def check_latency_wait(profile: dict) -> Check:
    value = profile.get("latency-wait", 5)
    try:
        checked = answers.check_latency_wait("latency-wait", value)
    except answers.AnswerError:
        return Check("latency-wait", "FAIL",
                     f"latency-wait: {value!r} in profiles/slurm/config.yaml: every missing-output failure is "
                     f"reported that late (at most {answers.LATENCY_WAIT_MAX} s makes sense)",
                     "set latency-wait: 60 in profiles/slurm/config.yaml")
    if checked.warnings:
        return Check("latency-wait", "WARN",
                     f"latency-wait: {checked.value} s in profiles/slurm/config.yaml: a job whose outputs are "
                     f"missing is reported {checked.value} s late",
                     "set latency-wait: 60 in profiles/slurm/config.yaml (5 to 60 suits most shared filesystems)")
    filesystem = filesystem_type(PROJECT_DIR)
    if checked.value < LATENCY_WAIT_LOW_S and filesystem in NETWORK_FILESYSTEMS:
        return Check("latency-wait", "WARN",
                     f"latency-wait: {checked.value} s on a {filesystem} filesystem: outputs written on a node "
                     "may not be visible here yet, and the job is then failed",
                     "set latency-wait: 30 in profiles/slurm/config.yaml")
    return Check("latency-wait", "PASS", f"latency-wait: {checked.value} s")


def filesystem_type(path: Path) -> str:
    best, kind = "", ""
    for line in Path("/proc/mounts").read_text().splitlines():
        fields = line.split()
        mount_point = fields[1].replace("\\040", " ")
        if str(path).startswith(mount_point.rstrip("/") + "/") or str(path) == mount_point:
            if len(mount_point) > len(best):
                best, kind = mount_point, fields[2]
    return kind


RULE_RE = re.compile(r"^(?:rule|checkpoint)\s+(\w+)\s*:", re.MULTILINE)
RUNS_SOMETHING_RE = re.compile(r"^\s+(shell|run|script|wrapper|notebook)\s*:", re.MULTILINE)
CONTAINER_RE = re.compile(r"^\s+container\s*:", re.MULTILINE)
GLOBAL_CONTAINER_RE = re.compile(r"^container\s*:", re.MULTILINE)


def rules_without_container() -> list[str]:
    """Rules that run something but name no container (a text scan of the workflow)."""
    texts = [p.read_text() for p in [WORKFLOW_DIR / "Snakefile", *sorted(WORKFLOW_DIR.rglob("*.smk"))] if p.is_file()]
    if any(GLOBAL_CONTAINER_RE.search(t) for t in texts):
        return []
    missing = []
    for text in texts:
        starts = [m for m in RULE_RE.finditer(text)]
        for match, following in zip(starts, starts[1:] + [None]):
            body = text[match.end(): following.start() if following else len(text)]
            body = re.split(r"^\S", body, maxsplit=1, flags=re.MULTILINE)[0]
            if RUNS_SOMETHING_RE.search(body) and not CONTAINER_RE.search(body):
                missing.append(match.group(1))
    return missing


def check_container_directives(profile: dict) -> Check:
    method = profile.get("software-deployment-method", [])
    uses_apptainer = ("apptainer" in (method if isinstance(method, list) else [method])
                      or profile.get("use-singularity") or profile.get("use-apptainer"))
    if not uses_apptainer:
        return Check("container-directives", "PASS", "the profile runs no rule in a container")
    missing = rules_without_container()
    if not missing:
        return Check("container-directives", "PASS", "every rule that runs a command names its container")
    return Check("container-directives", "WARN",
                 f"the profile enables Apptainer, but rules {', '.join(missing)} name no container: they run "
                 "on the node's own software",
                 "add a container: directive to each (or remove Apptainer from profiles/slurm/config.yaml)")


def check_profile_lint(profile: dict) -> Check:
    problems = profile_lint.lint_profile(profile, name="profiles/slurm")
    status = "FAIL"
    if not problems:
        problems, status = profile_lint.lint_warnings(profile, name="profiles/slurm"), "WARN"
    if not problems:
        return Check("profile-lint", "PASS", "no Snakemake 7 keys, memory clashes or plugin-managed sbatch flags")
    first, _, fix = problems[0].partition(". Fix: ")
    more = f" (and {len(problems) - 1} more: scripts/profile_lint.py lists them)" if len(problems) > 1 else ""
    return Check("profile-lint", status, first + more, fix)


def check_project_path() -> Check:
    odd = [c for c in ("%", "\\") if c in str(PROJECT_DIR)]
    if odd:
        return Check("project-path", "FAIL",
                     f"{PROJECT_DIR} contains {' and '.join(repr(c) for c in odd)}: sbatch reads file names as "
                     "patterns, and the rule jobs of the SLURM plugin fail without a log there",
                     "move the project to a directory without '%' or '\\' in its path")
    braces = [c for c in "{}[]" if c in str(PROJECT_DIR)]
    if braces:
        return Check("project-path", "FAIL",
                     f"{PROJECT_DIR} contains {' and '.join(repr(c) for c in braces)}: Snakemake reads them in paths "
                     "as wildcards and patterns, and then ignores the profile or fails",
                     "move the project to a directory without '{', '}', '[' or ']' in its path")
    return Check("project-path", "PASS", "the project's path is safe for sbatch file names")


def check_working_directory() -> Check:
    strays = [PROJECT_DIR.parent / ".snakemake", WORKFLOW_DIR / ".snakemake", WORKFLOW_DIR / "results",
              PROJECT_DIR / "config" / ".snakemake", PROJECT_DIR / "scripts" / ".snakemake",
              PROJECT_DIR.parent / "results"]
    found = [str(p) for p in strays if p.exists()]
    if not found:
        return Check("working-directory", "PASS", f"runs keep their state in {PROJECT_DIR}")
    return Check("working-directory", "WARN",
                 f"left by runs started in another directory: {', '.join(found)}",
                 f"move any outputs you need into {PROJECT_DIR}, delete the rest, and run through make, "
                 "which always passes --directory")


VERSIONS_PROBE = (
    "import importlib.metadata as m, json\n"
    "names = ['snakemake', 'snakemake-executor-plugin-slurm', 'snakemake-executor-plugin-slurm-jobstep']\n"
    "found = {}\n"
    "for n in names:\n"
    "    try: found[n] = m.version(n)\n"
    "    except m.PackageNotFoundError: found[n] = None\n"
    "print(json.dumps(found))\n"
)


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def check_versions() -> Check:
    snakemake = find_snakemake()
    if not snakemake:
        return Check("versions", "FAIL", "snakemake not found (SNAKEMAKE, .venv, PATH)",
                     "make venv, or activate the environment that has Snakemake")
    python = interpreter_of(snakemake)
    try:
        done = subprocess.run([python, "-c", VERSIONS_PROBE], capture_output=True, text=True, timeout=20)
        found = json.loads(done.stdout)
    except (OSError, ValueError, subprocess.TimeoutExpired) as error:
        return Check("versions", "FAIL", f"{python}, which rule jobs will use, cannot report its packages: {error}",
                     "make venv")
    smk = found["snakemake"]
    plugin = found["snakemake-executor-plugin-slurm"]
    jobstep = found["snakemake-executor-plugin-slurm-jobstep"]
    saw = f"{python}: snakemake {smk}, slurm plugin {plugin}, jobstep plugin {jobstep}"
    if not smk or version_tuple(smk) < MIN_SNAKEMAKE_VERSION:
        return Check("versions", "FAIL", saw + " (Snakemake 9 or newer is needed)", "make venv (requirements.txt)")
    if not plugin or version_tuple(plugin) < MIN_PLUGIN_VERSION:
        return Check("versions", "FAIL",
                     saw + " (plugins before 2.7 hang when the coordinator runs inside a SLURM job)",
                     "pip install 'snakemake-executor-plugin-slurm>=2.7' (or make venv)")
    if not jobstep:
        return Check("versions", "FAIL", saw + " (rule jobs need the jobstep plugin)",
                     "pip install snakemake-executor-plugin-slurm-jobstep (or make venv)")
    return Check("versions", "PASS", saw)


# --- the cluster and the run ----------------------------------------------------------


def cluster_answers_from(profile: dict) -> dict:
    resources = profile_lint.resources_as_dict(profile.get("default-resources"))
    coordinator = coordinator_settings.read(COORDINATOR_ENV)
    return {
        "slurm_partition": str(resources.get("slurm_partition", "")),
        "coordinator_partition": coordinator.get("COORDINATOR_PARTITION", ""),
        "slurm_account": str(resources.get("slurm_account", "")),
        "coordinator_account": coordinator.get("COORDINATOR_ACCOUNT", ""),
        # The plugin's own default is sacct.
        "status_command": str(profile.get("slurm-status-command", "sacct")),
    }


# Where each cluster finding is mended in this project.
CLUSTER_FIXES = {
    "slurm_partition": "set default-resources: slurm_partition in profiles/slurm/config.yaml to one of: {accepted}",
    "coordinator_partition": "set COORDINATOR_PARTITION in profiles/slurm/coordinator.env to one of: {accepted}",
    "slurm_account": "set default-resources: slurm_account in profiles/slurm/config.yaml to one of: {accepted}",
    "coordinator_account": "set COORDINATOR_ACCOUNT in profiles/slurm/coordinator.env to one of: {accepted}",
    "status_command": "set slurm-status-command: squeue in profiles/slurm/config.yaml",
}
CLUSTER_WARNING_FIXES = {
    "slurm_account": "nothing to do here: without accounting SLURM does not check accounts",
    "status_command": "ask the admins for MinJobAge >= 120",
}


def check_cluster(profile: dict) -> list[Check]:
    facts = cluster_facts.gather()
    if not facts.reachable:
        return [Check("cluster", "FAIL", facts.problem, "run where SLURM answers (a login node), or ask your admins")]
    errors, warnings = cluster_facts.check_against_cluster(
        cluster_answers_from(profile), facts, repeat_same_partition=True
    )
    status_command = cluster_answers_from(profile)["status_command"]
    checks = [Check("cluster", "PASS",
                    f"controller answers; partitions {', '.join(facts.partitions)}; accounting "
                    f"{'on' if facts.accounting else 'off'}; status command {status_command}")]
    for message in errors:
        field = message.split(":")[0]
        saw, _, rest = message.partition(" Accepted: ")
        accepted = rest.split(". Example:")[0]
        checks.append(Check(field, "FAIL", saw.rstrip("."), CLUSTER_FIXES[field].format(accepted=accepted)))
    for message in warnings:
        field = message.split(":")[0]
        checks.append(Check(field, "WARN", message, CLUSTER_WARNING_FIXES[field]))
    return checks


def check_stale_lock() -> Check:
    status = run_status.current_status(tail_lines=0)
    if status.state == "stale":
        return Check("stale-lock", "FAIL",
                     f"coordinator job {status.job_id} is gone but .snakemake/locks still holds its lock",
                     "make submit (recovers and resumes) or make unlock")
    if status.state in {"pending", "running"}:
        return Check("stale-lock", "PASS", f"the lock belongs to coordinator job {status.job_id} ({status.state})")
    if status.state == "unknown":
        return Check("stale-lock", "WARN", "cannot tell: the SLURM controller did not answer", "ask again later")
    if status.foreground_run:
        return Check("stale-lock", "PASS", "the lock belongs to a 'make local' run (or another make target) "
                     "still running in this project")
    if run_status.locks_present():
        return Check("stale-lock", "FAIL", ".snakemake/locks holds a lock and no coordinator of this project runs",
                     "make unlock (if no Snakemake runs in this project)")
    return Check("stale-lock", "PASS", "no lock left behind")


def run_checks(quick: bool) -> list[Check]:
    profile = load_slurm_profile()
    checks = [
        check_container(profile),
        check_export_env(),
        check_inherited_memory(),
        check_inside_job(),
        check_latency_wait(profile),
        check_container_directives(profile),
        check_profile_lint(profile),
        check_project_path(),
        check_working_directory(),
        check_versions(),
    ]
    if not quick:
        checks += check_cluster(profile)
        checks.append(check_stale_lock())
    return checks


def unreadable_profile(error: Exception) -> Check:
    """The profile or coordinator settings cannot be read: say what to do about it."""
    conflicted = [name for name in (SLURM_PROFILE_DIR / "config.yaml", COORDINATOR_ENV)
                  if name.is_file() and "\n<<<<<<< " in "\n" + name.read_text(errors="replace")]
    if conflicted:
        names = ", ".join(str(path.relative_to(PROJECT_DIR)) for path in conflicted)
        return Check("profile", "FAIL", f"conflict markers (<<<<<<<) left in {names}",
                     f"resolve the conflict in {names} (keep one side of each block, drop the markers), then commit")
    return Check("profile", "FAIL", f"cannot read profiles/slurm: {error}",
                 "fix the file named above, or restore it with 'git checkout profiles/slurm' and 'make regen-profile'")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Preflight checks of this project and this shell.")
    parser.add_argument("--json", action="store_true", help="a JSON list of checks on stdout")
    parser.add_argument("--quick", action="store_true", help="skip the checks that ask SLURM")
    try:
        args = parser.parse_args(argv)
    except SystemExit as error:
        return 0 if error.code == 0 else 2
    try:
        checks = run_checks(args.quick)
    except (OSError, ValueError, yaml.YAMLError) as error:
        checks = [unreadable_profile(error)]
    if args.json:
        print(json.dumps([asdict(c) for c in checks], indent=2))
    else:
        for check in checks:
            print(check.line())
    return 1 if any(c.status == "FAIL" for c in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
