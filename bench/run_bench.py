#!/usr/bin/env python3
"""make bench: how close the generated SLURM profile gets to the physical limit,
next to the SLURM plugin's own defaults, on the cluster in reach.

Runs, on the same cluster and in one go, a chain of trivial steps and a scatter
then gather, each with the generated profile and with the plugin's defaults
(the generated profile without the settings the template tunes). Reports wall
time, the critical-path lower bound from SLURM's own start and end times, the
overhead per step, and the status queries sent to the controller (counted by
a PATH shim around squeue and sacct). Also: bake time and `make submit` time.

Usage: bench/run_bench.py [--chain 6] [--width 20] [--output bench/RESULTS.md]
Exit codes: 0 measured and written; 1 a run failed; 2 no cluster answers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

TEMPLATE_DIR = Path(__file__).resolve().parent.parent
BENCH_DIR = TEMPLATE_DIR / "bench"
WORK_DIR = TEMPLATE_DIR / "build" / "bench"
VENV_BIN = Path(sys.executable).parent
# The settings the template tunes for turnaround; without them the plugin's
# defaults apply. The status command stays: the plugin's default (sacct) never
# sees a job end on a cluster without accounting.
TUNED_KEYS = ("slurm-init-seconds-before-status-checks", "seconds-between-status-checks",
              "max-status-checks-per-second", "max-jobs-per-timespan")
QUERY_COMMANDS = ("squeue", "sacct")


@dataclass
class Run:
    dag: str
    profile: str
    steps_on_critical_path: int
    wall_s: float
    critical_s: float  # longest path, or total work over the CPU slots if that is longer
    queries: int

    @property
    def overhead_per_step_s(self) -> float:
        return (self.wall_s - self.critical_s) / self.steps_on_critical_path

    @property
    def seconds_per_query(self) -> float:
        return self.wall_s / self.queries if self.queries else float("inf")


def env_with(path_first: Path | None = None, **extra: str) -> dict[str, str]:
    env = os.environ.copy()
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(name, None)
    env["PATH"] = os.pathsep.join([*( [str(path_first)] if path_first else []), str(VENV_BIN), env["PATH"]])
    env.update(extra)
    return env


def cluster_answers() -> bool:
    try:
        return subprocess.run(["sinfo", "--noheader"], capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def bake_cli(output_dir: Path) -> float:
    """Seconds for one `cookiecutter --no-input` command, hooks included, without live cluster checks."""
    started = time.monotonic()
    subprocess.run([str(VENV_BIN / "cookiecutter"), "--no-input", "--overwrite-if-exists", "--output-dir",
                    str(output_dir), str(TEMPLATE_DIR)], check=True, capture_output=True,
                   env=env_with(SLURM_TEMPLATE_OFFLINE="1"))
    return time.monotonic() - started


def bake_in_process(output_dir: Path) -> float:
    """Seconds for one bake by an already loaded cookiecutter: rendering and both hooks."""
    from cookiecutter.main import cookiecutter

    os.environ["SLURM_TEMPLATE_OFFLINE"] = "1"
    try:
        started = time.monotonic()
        cookiecutter(str(TEMPLATE_DIR), no_input=True, overwrite_if_exists=True, output_dir=str(output_dir))
        return time.monotonic() - started
    finally:
        del os.environ["SLURM_TEMPLATE_OFFLINE"]


def make_shim(directory: Path) -> None:
    """squeue and sacct that log each call, then run the real command."""
    directory.mkdir(parents=True, exist_ok=True)
    for command in QUERY_COMMANDS:
        real = shutil.which(command)
        if real is None:
            continue
        shim = directory / command
        shim.write_text(f'#!/bin/sh\necho "{command}" >> "$BENCH_QUERY_LOG"\nexec "{real}" "$@"\n')
        shim.chmod(0o755)


def plugin_defaults_profile(generated: Path, target: Path) -> Path:
    profile = yaml.safe_load((generated / "config.yaml").read_text())
    for key in TUNED_KEYS:
        profile.pop(key, None)
    target.mkdir(parents=True, exist_ok=True)
    (target / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return target


def slurm_time(text: str) -> float:
    return dt.datetime.fromisoformat(text).timestamp()


def job_times(run_id: str) -> list[tuple[str, float, float]]:
    """(rule, start, end) of every job of a run, as SLURM recorded them."""
    done = subprocess.run([shutil.which("squeue"), "--noheader", "--states=all", "--name", run_id,
                           "--format=%k|%S|%e"], capture_output=True, text=True, check=True, timeout=30)
    rows = []
    for line in done.stdout.splitlines():
        comment, start, end = line.split("|")
        rows.append((comment.removeprefix("rule_").split("_wildcards_")[0], slurm_time(start), slurm_time(end)))
    return rows


def cpu_slots() -> int:
    """CPU slots of the cluster's nodes (sinfo's total of allocated/idle/other/total)."""
    done = subprocess.run(["sinfo", "--noheader", "--format=%C"], capture_output=True, text=True, timeout=10)
    return max(1, max((int(line.split("/")[3]) for line in done.stdout.split()), default=1))


def lower_bound(dag: str, times: list[tuple[str, float, float]], slots: int) -> tuple[float, int]:
    """Lower bound of the wall time from SLURM's start and end times of the jobs,
    and the number of steps on the longest path: the longest path, or the total
    job time spread over every CPU slot, whichever is longer."""
    durations = {}
    for rule, start, end in times:
        durations.setdefault(rule, []).append(end - start)
    work_over_slots = sum(sum(d) for d in durations.values()) / slots
    if dag == "chain":
        return sum(sum(d) for d in durations.values()), sum(len(d) for d in durations.values())
    return max(max(durations["part"]) + max(durations["gather"]), work_over_slots), 2


def run_dag(dag: str, profile_name: str, profile_dir: Path, size: int, shim: Path) -> Run:
    run_dir = WORK_DIR / "runs" / f"{dag}-{profile_name}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    query_log = run_dir / "status-queries.log"
    query_log.touch()
    config_key = "steps" if dag == "chain" else "width"
    command = [str(VENV_BIN / "snakemake"), "--snakefile", str(BENCH_DIR / f"{dag}.smk"), "--directory",
               str(run_dir), "--workflow-profile", str(profile_dir), "--config", f"{config_key}={size}"]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600,
                          env=env_with(shim, BENCH_QUERY_LOG=str(query_log)))
    wall = time.monotonic() - started
    (run_dir / "snakemake.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"{dag} with {profile_name} failed; see {run_dir / 'snakemake.log'}")
    run_id = re.search(r"SLURM run ID: (\S+)", done.stdout + done.stderr).group(1)
    critical, steps = lower_bound(dag, job_times(run_id), cpu_slots())
    queries = sum(1 for line in query_log.read_text().splitlines() if line in QUERY_COMMANDS)
    return Run(dag, profile_name, steps, wall, critical, queries)


def submit_seconds(project: Path) -> float:
    """Seconds `make submit` takes to return; the run is cancelled right after."""
    env = env_with()
    started = time.monotonic()
    subprocess.run(["make", "-s", "submit"], cwd=project, check=True, capture_output=True, env=env)
    elapsed = time.monotonic() - started
    subprocess.run(["make", "-s", "cancel"], cwd=project, capture_output=True, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = subprocess.run([sys.executable, "scripts/status.py", "--field", "state"], cwd=project,
                               capture_output=True, text=True, env=env).stdout.strip()
        if state not in {"pending", "running", "unknown"}:
            break
        time.sleep(1)
    return elapsed


def report(runs: list[Run], bake_s: list[float], bake_cli_s: list[float], submit_s: list[float],
           profile: dict) -> str:
    by_key = {(r.dag, r.profile): r for r in runs}
    lines = [
        "# Benchmark: turnaround of the generated SLURM profile",
        "",
        f"Measured {dt.date.today().isoformat()} by `make bench` on {os.cpu_count()} cores, "
        f"{round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB, "
        f"{platform.system()} {platform.release()}, single-node SLURM (local_cluster/), "
        f"Python {platform.python_version()}.",
        "",
        "Tuned settings in the generated profile: "
        + ", ".join(f"`{k}: {profile[k]}`" for k in TUNED_KEYS if k in profile) + ".",
        "The plugin-default runs use the same profile without them.",
        "",
        "Lower bound: the longest path through the DAG, from SLURM's start and end times of its jobs, or "
        "their total time over the cluster's CPU slots when that is longer (the 20-way scatter).",
        "",
        "| DAG | profile | wall (s) | lower bound (s) | wall / bound | overhead per step (s) "
        "| status queries | seconds per query |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        lines.append(f"| {r.dag} | {r.profile} | {r.wall_s:.1f} | {r.critical_s:.1f} | "
                     f"{r.wall_s / r.critical_s:.2f} | {r.overhead_per_step_s:.1f} | {r.queries} | "
                     f"{r.seconds_per_query:.1f} |")
    lines += ["", "| ratio generated / plugin defaults | wall | status queries |", "|---|---|---|"]
    for dag in ("chain", "scatter"):
        gen, default = by_key.get((dag, "generated")), by_key.get((dag, "plugin defaults"))
        if gen and default:
            lines.append(f"| {dag} | {gen.wall_s / default.wall_s:.2f} | "
                         f"{gen.queries / default.queries if default.queries else float('nan'):.2f} |")
    lines += [
        "",
        f"Bake with hooks, no live cluster checks: median {statistics.median(bake_s):.2f} s of {len(bake_s)} "
        f"(rendering and both hooks, cookiecutter loaded); the whole `cookiecutter --no-input` command: "
        f"median {statistics.median(bake_cli_s):.2f} s, of which loading cookiecutter and its libraries is "
        f"about 0.45 s.",
        f"`make submit` return: median {statistics.median(submit_s):.2f} s of {len(submit_s)}.",
        "",
        "Targets (issue: chain at most 1.5x its critical path and 0.2x the plugin defaults; "
        "at most one status query per 5 s; bake under 1 s; submit under 2 s):",
        "",
    ]
    chain, chain_default = by_key.get(("chain", "generated")), by_key.get(("chain", "plugin defaults"))
    checks = []
    if chain:
        checks.append(("chain wall / lower bound <= 1.5", chain.wall_s / chain.critical_s <= 1.5,
                       f"{chain.wall_s / chain.critical_s:.2f}"))
    if chain and chain_default:
        checks.append(("chain wall / plugin defaults <= 0.2", chain.wall_s / chain_default.wall_s <= 0.2,
                       f"{chain.wall_s / chain_default.wall_s:.2f}"))
    for r in runs:
        if r.profile == "generated":
            checks.append((f"{r.dag}: seconds per status query >= 5", r.seconds_per_query >= 5,
                           f"{r.seconds_per_query:.1f}"))
    checks.append(("bake median < 1 s (rendering and hooks)", statistics.median(bake_s) < 1,
                   f"{statistics.median(bake_s):.2f}"))
    checks.append(("submit median < 2 s", statistics.median(submit_s) < 2, f"{statistics.median(submit_s):.2f}"))
    lines += [f"- {'met' if ok else 'NOT met'}: {name} (measured {value})" for name, ok, value in checks]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chain", type=int, default=6, help="steps of the chain (default 6)")
    parser.add_argument("--width", type=int, default=20, help="jobs of the scatter (default 20)")
    parser.add_argument("--bakes", type=int, default=7, help="bakes to time (default 7)")
    parser.add_argument("--submits", type=int, default=3, help="submissions to time (default 3)")
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "RESULTS.md")
    args = parser.parse_args(argv)
    if not cluster_answers():
        print("bench: no SLURM cluster answers; start the local one with 'make slurm-up'", file=sys.stderr)
        return 2

    shutil.rmtree(WORK_DIR, ignore_errors=True)
    WORK_DIR.mkdir(parents=True)
    bake_cli_s = [bake_cli(WORK_DIR / "bakes") for _ in range(args.bakes)]
    bake_s = [bake_in_process(WORK_DIR / "bakes") for _ in range(args.bakes)]
    print(f"bench: bake median {statistics.median(bake_s):.2f} s (command {statistics.median(bake_cli_s):.2f} s)",
          flush=True)

    subprocess.run([str(VENV_BIN / "cookiecutter"), "--no-input", "--output-dir", str(WORK_DIR), str(TEMPLATE_DIR)],
                   check=True, capture_output=True, env=env_with())
    project = WORK_DIR / "repeat_family_analysis"
    submit_s = [submit_seconds(project) for _ in range(args.submits)]
    print(f"bench: make submit median {statistics.median(submit_s):.2f} s", flush=True)

    generated = project / "profiles" / "slurm"
    profiles = {"generated": generated,
                "plugin defaults": plugin_defaults_profile(generated, WORK_DIR / "plugin-defaults")}
    shim = WORK_DIR / "query-shim"
    make_shim(shim)
    runs = []
    try:
        for dag, size in (("chain", args.chain), ("scatter", args.width)):
            for name, profile_dir in profiles.items():
                print(f"bench: {dag} ({size}) with the {name} profile ...", flush=True)
                runs.append(run_dag(dag, name, profile_dir, size, shim))
                r = runs[-1]
                print(f"bench:   wall {r.wall_s:.1f} s, critical path {r.critical_s:.1f} s, "
                      f"{r.queries} status queries", flush=True)
    except (RuntimeError, subprocess.SubprocessError) as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1

    text = report(runs, bake_s, bake_cli_s, submit_s, yaml.safe_load((generated / "config.yaml").read_text()))
    args.output.write_text(text)
    print(text)
    print(f"bench: written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
