"""Baking the template: every combination of options gives a complete, valid project
that Snakemake accepts with both profiles."""

from __future__ import annotations

import re
import shutil
import stat
from pathlib import Path

import pytest
import yaml

from support import make, run

OPTION_MATRIX = {
    "defaults": {},
    "apptainer": {"use_apptainer": "yes", "apptainer_bind": "/scratch,/data/ref:/ref:ro"},
    "account-and-squeue": {"slurm_account": "lab1", "status_command": "squeue"},
    "partition-lists-and-units": {
        "slurm_partition": "cpu_short,cpu_long",
        "coordinator_partition": "long",
        "default_mem_mb": "4G",
        "default_runtime": "2h",
        "coordinator_time": "1-12:00:00",
        "coordinator_mem_per_cpu_mb": "0.5G",
        "latency_wait": "5",
        "max_jobs": "20",
    },
    "free-text-names": {"project_name": "Émile's L1 \"scan\" <v2> & more", "project_slug": "l1-scan", "author": "O'Brien"},
}
LEFTOVER_JINJA = re.compile(r"\{\{|\{%")


def text_files(project: Path):
    for path in project.rglob("*"):
        if path.is_file() and ".snakemake" not in path.parts:
            yield path, path.read_text(encoding="utf-8")


@pytest.fixture(params=list(OPTION_MATRIX), ids=list(OPTION_MATRIX))
def baked(request, bake) -> Path:
    return bake(**OPTION_MATRIX[request.param])


def test_no_template_syntax_is_left(baked):
    leftovers = [str(p.relative_to(baked)) for p, text in text_files(baked) if LEFTOVER_JINJA.search(text)]
    assert leftovers == []


def test_every_yaml_file_parses(baked):
    yaml_files = list(baked.rglob("*.yaml"))
    assert len(yaml_files) >= 4
    for path in yaml_files:
        assert isinstance(yaml.safe_load(path.read_text()), dict), path


def test_commands_are_executable_and_modules_are_not(baked):
    for directory in ("scripts", "workflow/scripts"):
        for path in (baked / directory).iterdir():
            has_shebang = path.read_bytes()[:2] == b"#!"
            executable = bool(path.stat().st_mode & stat.S_IXUSR)
            assert executable == has_shebang, path


def test_shell_scripts_pass_shellcheck(baked):
    scripts = sorted(str(p.relative_to(baked)) for p in (baked / "scripts").glob("*.sh"))
    assert "scripts/submit_snakemake.sh" in scripts
    done = run(["shellcheck", "--external-sources", *scripts], cwd=baked)
    assert done.returncode == 0, done.stdout + done.stderr


def test_snakemake_lint_is_clean(baked):
    done = make(baked, "lint")
    assert "Congratulations, your workflow is in a good condition!" in done.stdout + done.stderr


@pytest.mark.parametrize("profile", ["local", "slurm"])
def test_dry_run_works_with_each_profile(baked, profile):
    done = run([str(baked / "scripts" / "snakemake.sh"), profile, "--dry-run"], cwd="/")
    output = done.stdout + done.stderr
    assert f"profiles/{profile}" in output
    needs_apptainer = "apptainer" in (baked / "profiles" / profile / "config.yaml").read_text()
    if needs_apptainer and shutil.which("apptainer") is None and shutil.which("singularity") is None:
        # Snakemake accepted every profile key and got as far as looking for Apptainer.
        assert "The apptainer or singularity command has to be available" in output
        return
    assert done.returncode == 0, output
    assert re.search(r"^total\s+3$", output, re.MULTILINE), output


def test_make_help_lists_the_interface(bake):
    project = bake()
    out = make(project).stdout
    for target in ("doctor", "dry-run", "lint", "local", "submit", "status", "logs", "dag", "report", "cancel",
                   "unlock", "clean"):
        assert re.search(rf"make {target}\s", out), target


def test_profiles_carry_the_answers(bake):
    project = bake(slurm_account="lab1", latency_wait="30", max_jobs="12", default_mem_mb="2G",
                   default_runtime="90", status_command="squeue")
    profile = yaml.safe_load((project / "profiles/slurm/config.yaml").read_text())
    assert profile["executor"] == "slurm"
    assert profile["jobs"] == 12
    assert profile["latency-wait"] == 30
    assert profile["default-resources"] == {
        "slurm_partition": "debug", "slurm_account": "lab1", "mem_mb": 2048, "runtime": "90m",
    }
    assert "slurm-no-account" not in profile
    assert profile["slurm-status-command"] == "squeue"
    assert "software-deployment-method" not in profile
    local = yaml.safe_load((project / "profiles/local/config.yaml").read_text())
    assert local["executor"] == "local"


def test_no_account_means_slurm_no_account(bake):
    profile = yaml.safe_load((bake() / "profiles/slurm/config.yaml").read_text())
    assert profile["slurm-no-account"] is True
    assert "slurm_account" not in profile["default-resources"]


def test_apptainer_wraps_only_rules_with_a_container(bake):
    project = bake(use_apptainer="yes", apptainer_image="docker://python:3.12-slim", apptainer_bind="/scratch")
    profile = yaml.safe_load((project / "profiles/slurm/config.yaml").read_text())
    assert profile["software-deployment-method"] == ["apptainer"]
    assert profile["apptainer-args"] == "--bind /scratch"
    rules = (project / "workflow/rules/repeats.smk").read_text()
    assert rules.count('container:\n        "docker://python:3.12-slim"') == 2


def test_generated_files_do_not_depend_on_the_current_directory(bake, tmp_path):
    project = bake()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run(["make", "-C", str(project), "dry-run"], cwd=elsewhere, check=True)
    assert f"Working directory: {project}" in done.stdout + done.stderr
    assert not (elsewhere / ".snakemake").exists()
