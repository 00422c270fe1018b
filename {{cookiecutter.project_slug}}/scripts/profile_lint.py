#!/usr/bin/env python3
"""Find the profile settings that Snakemake 8+ or the SLURM executor plugin refuse or
mishandle, each with the fix. Used after generation and by the project's checks.

Usage: scripts/profile_lint.py [PROFILE_DIR ...]   (default: every profiles/*/)
Exit codes: 0 no problem (deprecated settings are listed as warnings); 1 problems
found (one line each); 2 unreadable profile.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent

# Snakemake 7 cluster keys, gone since Snakemake 8 and its executor plugins.
SNAKEMAKE7_KEYS = {
    "cluster": "executor: slurm",
    "cluster-config": "default-resources / set-resources",
    "cluster-status": "slurm-status-command",
    "cluster-cancel": "nothing: the executor plugin cancels its own jobs",
    "cluster-cancel-nargs": "nothing: the executor plugin cancels its own jobs",
    "cluster-sidecar": "nothing: the executor plugin tracks its own jobs",
    "cluster-sync": "executor: slurm",
    "drmaa": "executor: slurm",
    "slurm": "executor: slurm",
}
# Snakemake 7 settings that Snakemake 9 still takes, deprecated.
DEPRECATED_KEYS = {
    "max-jobs-per-second": "max-jobs-per-timespan (e.g. 10/1s)",
}
# sbatch options the plugin sets itself, or refuses in slurm_extra (its
# validate_slurm_extra), with the resource to use instead.
PLUGIN_MANAGED_FLAGS = {
    "--mem": "mem_mb", "--mem-per-cpu": "mem_mb_per_cpu", "--time": "runtime", "-t": "runtime",
    "--partition": "slurm_partition", "-p": "slurm_partition", "--account": "slurm_account",
    "-A": "slurm_account", "--job-name": "(set by the plugin)", "-J": "(set by the plugin)",
    "--output": "(set by the plugin)", "-o": "(set by the plugin)", "--error": "(set by the plugin)",
    "-e": "(set by the plugin)", "--export": "(set by the plugin)", "--cpus-per-task": "cpus_per_task",
    "-c": "cpus_per_task", "--ntasks": "tasks", "-n": "tasks", "--nodes": "nodes", "-N": "nodes",
    "--chdir": "(set by the plugin)", "-D": "(set by the plugin)", "--workdir": "(set by the plugin)",
    "--parsable": "(set by the plugin)", "--comment": "(set by the plugin)", "--clusters": "clusters",
    "--constraint": "constraint", "-C": "constraint", "--qos": "qos", "--gres": "gres", "--gpus": "gpu",
    "--ntasks-per-gpu": "tasks_per_gpu", "--cpus-per-gpu": "cpus_per_gpu",
    # Not refused by the plugin, but SLURM refuses it next to the --mem the plugin sets.
    "--mem-per-gpu": "mem_mb (per job)",
}
FLAG_RE = re.compile(r"""(?:^|[\s'"])(--?[A-Za-z][A-Za-z-]*)""")


def flag_name(word: str) -> str:
    """'--mem' stays; a short flag with its value attached ('-plong') is '-p'."""
    return word if word.startswith("--") else word[:2]


def resources_as_dict(value) -> dict:
    """default-resources as a mapping, from either the mapping or the 'k=v' list form."""
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return dict(str(item).split("=", 1) for item in value if "=" in str(item))
    return {}


def set_resources_by_rule(value) -> dict[str, dict]:
    """set-resources as {rule: {resource: value}}, from the mapping or 'rule:k=v' list form."""
    if isinstance(value, dict):
        return {rule: resources_as_dict(res) for rule, res in value.items()}
    rules: dict[str, dict] = {}
    for item in value if isinstance(value, list) else []:
        rule, _, assignment = str(item).partition(":")
        key, _, val = assignment.partition("=")
        rules.setdefault(rule, {})[key] = val
    return rules


def memory_clash(where: str, resources: dict) -> list[str]:
    if "mem_mb" in resources and "mem_mb_per_cpu" in resources:
        return [
            f"{where} sets both mem_mb and mem_mb_per_cpu: sbatch gets --mem and --mem-per-cpu, "
            "which SLURM refuses together. Fix: keep one of them"
        ]
    return []


def managed_flags(where: str, resources: dict) -> list[str]:
    extra = str(resources.get("slurm_extra", ""))
    problems = []
    for flag in map(flag_name, FLAG_RE.findall(extra)):
        if flag in PLUGIN_MANAGED_FLAGS:
            problems.append(
                f"{where} slurm_extra passes {flag}, which the SLURM plugin sets itself. "
                f"Fix: remove it from slurm_extra and use the resource {PLUGIN_MANAGED_FLAGS[flag]}"
            )
    return problems


def lint_profile(profile: dict, name: str = "profile") -> list[str]:
    problems = []
    if name.endswith("profiles/slurm") and profile.get("executor") != "slurm":
        problems.append(
            f"{name}: executor is {profile.get('executor')!r}, not 'slurm': rule jobs would run inside the "
            "coordinator's job instead of being submitted. Fix: set executor: slurm"
        )
    for key, replacement in SNAKEMAKE7_KEYS.items():
        if key in profile:
            problems.append(f"{name}: '{key}' is a Snakemake 7 setting that Snakemake 8+ rejects. Fix: use {replacement}")
    defaults = resources_as_dict(profile.get("default-resources"))
    problems += memory_clash(f"{name}: default-resources", defaults)
    problems += managed_flags(f"{name}: default-resources", defaults)
    for rule, resources in set_resources_by_rule(profile.get("set-resources")).items():
        problems += memory_clash(f"{name}: set-resources of rule {rule}", resources)
        problems += managed_flags(f"{name}: set-resources of rule {rule}", resources)
    return problems


def lint_warnings(profile: dict, name: str = "profile") -> list[str]:
    """Settings that still work but are on their way out."""
    return [f"{name}: '{key}' is deprecated since Snakemake 8. Fix: use {replacement}"
            for key, replacement in DEPRECATED_KEYS.items() if key in profile]


def load_profile(profile_dir: Path) -> dict:
    data = yaml.safe_load((profile_dir / "config.yaml").read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{profile_dir / 'config.yaml'} is not a mapping of settings")
    return data


def main(argv: list[str]) -> int:
    dirs = [Path(a) for a in argv] or sorted(p for p in (PROJECT_DIR / "profiles").iterdir() if p.is_dir())
    problems = []
    for profile_dir in dirs:
        try:
            profile = load_profile(profile_dir)
        except (OSError, ValueError, yaml.YAMLError) as error:
            print(f"{profile_dir}: cannot read the profile: {error}", file=sys.stderr)
            return 2
        problems += lint_profile(profile, name=f"profiles/{profile_dir.name}")
        for warning in lint_warnings(profile, name=f"profiles/{profile_dir.name}"):
            print(f"warning: {warning}")
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
