"""A project keeps up with its cluster and its template: made from a git URL of
the template at revision A, its profile regenerated with changed answers, then
the template's revision B taken in, the user's own edits surviving both; and
the project's own lint and CI commands pass on a baked project."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from support import TEMPLATE_DIR, make, project_env, run

GIT_IDENTITY = ["-c", "user.name=Test User", "-c", "user.email=test@example.org"]


def git(directory: Path, *args: str) -> str:
    done = subprocess.run(["git", *GIT_IDENTITY, "-C", str(directory), *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def template_repo(tmp_path) -> Path:
    """The template as it is now (committed or not), as revision A of a git repository."""
    repo = tmp_path / "template"
    listed = subprocess.run(["git", "-C", str(TEMPLATE_DIR), "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, (entry.decode() for entry in listed)):
        source = TEMPLATE_DIR / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    git(tmp_path, "init", "-q", str(repo))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "revision A")
    return repo


def cookiecutter_from_url(url: str, output_dir: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    config = tmp_path / "cookiecutter-config.yaml"
    config.write_text(yaml.safe_dump({"cookiecutters_dir": str(tmp_path / "cookiecutters"),
                                      "replay_dir": str(tmp_path / "replay")}))
    return run([sys.executable, "-m", "cookiecutter", "--no-input", "--config-file", str(config), "--output-dir",
                str(output_dir), url], env=project_env(SLURM_TEMPLATE_OFFLINE="1"), timeout=120)


@pytest.fixture
def project(template_repo, tmp_path) -> Path:
    done = cookiecutter_from_url(f"git+file://{template_repo}", tmp_path / "projects", tmp_path)
    assert done.returncode == 0, done.stderr
    path = tmp_path / "projects" / "repeat_family_analysis"
    git(tmp_path, "init", "-q", str(path))
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "generated")
    return path


def sync_env() -> dict:
    return project_env(SLURM_TEMPLATE_OFFLINE="1")


def test_a_git_url_bakes_with_hooks_and_run_bits(project, template_repo):
    assert os.stat(project / "scripts" / "submit_snakemake.sh").st_mode & stat.S_IXUSR
    record = json.loads((project / ".cruft.json").read_text())
    assert record["template"] == f"file://{template_repo}"
    assert record["commit"] == git(template_repo, "rev-parse", "HEAD")
    assert record["context"]["cookiecutter"]["latency_wait"] == "60"


def test_a_relative_template_path_is_recorded_absolute_with_the_resolved_status_command(template_repo, tmp_path):
    done = run([sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", "projects", "template"],
               cwd=tmp_path, env=project_env(SLURM_TEMPLATE_OFFLINE="1"), timeout=120)
    assert done.returncode == 0, done.stderr
    record = json.loads((tmp_path / "projects/repeat_family_analysis/.cruft.json").read_text())
    assert (record["template"], record["commit"]) == (str(template_repo), git(template_repo, "rev-parse", "HEAD"))
    # 'auto' is kept as what it became, so that a later render gives the same profile.
    assert record["context"]["cookiecutter"]["status_command"] == "squeue"


def test_a_template_with_uncommitted_changes_is_said_so(template_repo, tmp_path):
    agents = template_repo / "{{cookiecutter.project_slug}}" / "AGENTS.md"
    agents.write_text(agents.read_text() + "\nAn edit not yet committed.\n")
    done = cookiecutter_from_url(str(template_repo), tmp_path / "projects", tmp_path)
    assert done.returncode == 0, done.stderr
    revision = git(template_repo, "rev-parse", "HEAD")
    assert (f"WARNING the template in {template_repo} has uncommitted changes: they are in this project, but "
            f".cruft.json records revision {revision[:12]}, which lacks them") in done.stderr


def test_regenerate_the_profile_and_take_a_template_update(project, template_repo):
    snakefile = project / "workflow" / "Snakefile"
    snakefile.write_text(snakefile.read_text().replace("localrules:", "# my own note\nlocalrules:"))
    git(project, "commit", "-q", "-am", "my edit")

    done = make(project, "regen-profile", "SET=latency_wait=90 slurm_partition=long", env=sync_env(), timeout=180)
    assert "-latency-wait: 60" in done.stdout and "+latency-wait: 90" in done.stdout
    # The coordinator's partition was the rules' one (its default) and follows it.
    assert "regen-profile: coordinator_partition follows slurm_partition (it had the same value): long" in done.stdout
    assert "changed: .cruft.json, profiles/slurm/config.yaml, profiles/slurm/coordinator.env" in done.stdout
    assert "--- a/.cruft.json" not in done.stdout
    profile = yaml.safe_load((project / "profiles/slurm/config.yaml").read_text())
    assert profile["latency-wait"] == 90
    assert profile["default-resources"]["slurm_partition"] == "long"
    assert "COORDINATOR_PARTITION=long" in (project / "profiles/slurm/coordinator.env").read_text().splitlines()
    assert "# my own note" in snakefile.read_text()
    answers = json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]
    assert (answers["latency_wait"], answers["slurm_partition"], answers["coordinator_partition"]) == (
        "90", "long", "long")
    changed = git(project, "status", "--porcelain").splitlines()
    assert sorted(line.split(maxsplit=1)[1] for line in changed) == [
        ".cruft.json", "profiles/slurm/config.yaml", "profiles/slurm/coordinator.env"]
    assert git(project, "diff", "--cached", "--name-only") == "", "all changed, none staged: the user reviews them"
    git(project, "commit", "-q", "-am", "new profile")

    bad = make(project, "regen-profile", "SET=latency_wait=700", env=sync_env(), check=False, timeout=180)
    assert bad.returncode != 0
    assert ("ERROR latency_wait: '700' is not a latency wait. Accepted: whole seconds from 0 to 600; "
            "5 to 60 suits most shared filesystems. Example: 60") in bad.stderr
    unknown = make(project, "regen-profile", "SET=latency=9", env=sync_env(), check=False)
    assert "'latency=9' is not NAME=VALUE with a known answer" in unknown.stderr
    assert yaml.safe_load((project / "profiles/slurm/config.yaml").read_text())["latency-wait"] == 90

    # Revision B of the template changes a file the user did not touch.
    agents = template_repo / "{{cookiecutter.project_slug}}" / "AGENTS.md"
    agents.write_text(agents.read_text() + "\nA line added by revision B.\n")
    git(template_repo, "commit", "-q", "-am", "revision B")
    done = make(project, "update-template", env=sync_env(), timeout=180)
    assert "changed: .cruft.json, AGENTS.md" in done.stdout
    assert (project / "AGENTS.md").read_text().endswith("A line added by revision B.\n")
    assert "# my own note" in snakefile.read_text()
    assert yaml.safe_load((project / "profiles/slurm/config.yaml").read_text())["latency-wait"] == 90
    assert json.loads((project / ".cruft.json").read_text())["commit"] == git(template_repo, "rev-parse", "HEAD")


def test_set_is_taken_as_typed_never_run(project):
    marker = project.parent / "set-injection-marker"
    for value in (f"latency_wait=`touch {marker}`", f"latency_wait=30;touch {marker}",
                  f"latency_wait=$(touch {marker})", f"$(shell touch {marker})"):
        done = make(project, "regen-profile", f"SET={value}", env=sync_env(), check=False, timeout=180)
        assert done.returncode != 0, value
        assert not marker.exists(), value
    assert json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]["latency_wait"] == "60"

    # Quotes group words; '$' is kept as typed.
    done = make(project, "regen-profile", "SET=description='Costs $5 per $HOME sample' latency_wait=30",
                env=sync_env(), timeout=180)
    answers = json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]
    assert (answers["description"], answers["latency_wait"]) == ("Costs $5 per $HOME sample", "30")
    assert "Costs $5 per $HOME sample" in (project / "README.md").read_text()

    # A template marker would be rendered by every later regeneration: refused.
    done = make(project, "regen-profile", "SET=author='{{ 7*7 }}'", env=sync_env(), check=False, timeout=180)
    assert done.returncode != 0
    assert ("ERROR author: '{{ 7*7 }}' holds a template marker, which would be evaluated when the project is "
            "regenerated") in done.stderr


def test_an_all_or_nothing_regeneration_keeps_bytes_that_are_not_utf8(project):
    profile = project / "profiles/slurm/config.yaml"
    profile.write_bytes(profile.read_bytes().replace(b"latency-wait: 60\n", b"latency-wait: 61  # J\xf6rg\n"))
    readme = project / "README.md"
    readme.write_bytes(readme.read_bytes() + b"\nNotes by J\xf6rg\n")
    (project / "results").mkdir()
    (project / "results" / "left-over.rej").write_bytes(b"\xff\xfe not ours\n")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "my edits")
    before = {path: path.read_bytes() for path in (profile, readme, project / ".cruft.json",
                                                    project / "profiles/slurm/coordinator.env")}

    done = make(project, "regen-profile", "SET=latency_wait=90 slurm_partition=long description=CHANGED",
                env=sync_env(), check=False, timeout=180)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "regen-profile: your edits in profiles/slurm/config.yaml touch lines that these answers change" in done.stderr
    assert "+COORDINATOR_PARTITION=long" in done.stderr  # the whole change is shown, not only the clash
    assert {path: path.read_bytes() for path in before} == before
    assert git(project, "status", "--porcelain") == ""

    # A .rej file that was there before is no conflict of this run.
    done = make(project, "regen-profile", "SET=max_jobs=50", env=sync_env(), timeout=180)
    assert "changed: .cruft.json, profiles/slurm/config.yaml" in done.stdout


def test_a_regeneration_that_meets_an_edit_changes_nothing(project):
    """use_apptainer also rewrites the rules' container: lines; an edit there stops it whole."""
    rules = project / "workflow" / "rules" / "repeats.smk"
    rules.write_text(rules.read_text().replace("    params:\n        family_pattern",
                                               "    threads: 2\n    params:\n        family_pattern"))
    git(project, "commit", "-q", "-am", "my edit")
    edited = {path: path.read_text() for path in (rules, project / "profiles/slurm/config.yaml",
                                                  project / ".cruft.json")}

    done = make(project, "regen-profile", "SET=use_apptainer=yes", env=sync_env(), check=False, timeout=180)
    assert done.returncode != 0
    assert ("regen-profile: your edits in workflow/rules/repeats.smk touch lines that these answers change; "
            "nothing was changed (answers and files are as before)") in done.stderr
    assert "container:" in done.stderr  # the change to apply by hand
    assert {path: path.read_text() for path in edited} == edited
    assert git(project, "status", "--porcelain") == ""


def test_a_conflicting_template_change_is_reported_not_applied_over_the_edit(project, template_repo):
    snakefile = project / "workflow" / "Snakefile"
    snakefile.write_text(snakefile.read_text().replace('min_version("9.0")', 'min_version("9.1")'))
    git(project, "commit", "-q", "-am", "my edit")
    template_snakefile = template_repo / "{{cookiecutter.project_slug}}" / "workflow" / "Snakefile"
    template_snakefile.write_text(template_snakefile.read_text().replace('min_version("9.0")', 'min_version("9.2")'))
    git(template_repo, "commit", "-q", "-am", "revision B")

    done = make(project, "update-template", env=sync_env(), check=False, timeout=180)
    assert done.returncode != 0
    assert "conflicts between your edits and the template's" in done.stderr
    assert "workflow/Snakefile" in done.stderr
    text = snakefile.read_text()
    assert 'min_version("9.1")' in text  # the user's line is still there


def test_the_projects_own_ci_commands_pass(bake):
    project = bake()
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    commands = [step["run"] for step in workflow["jobs"]["check"]["steps"]
                if "run" in step and not step["run"].startswith("pip install")]
    assert commands == ["pre-commit run --all-files", "make dry-run", "make local",
                        "python3 scripts/doctor.py --quick"]
    git(project.parent, "init", "-q", str(project))
    git(project, "add", "-A")
    for command in commands:
        done = run(["bash", "-c", command], cwd=project, timeout=300)
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"


def test_an_auto_status_command_is_recorded_as_the_command_the_profile_names(template_repo, tmp_path):
    """cruft create records 'auto' as typed; a later render would resolve it against that day's cluster."""
    cruft = Path(sys.executable).parent / "cruft"
    done = run([str(cruft), "create", "--no-input", "--output-dir", str(tmp_path / "projects"), str(template_repo)],
               env=sync_env(), timeout=120)
    assert done.returncode == 0, done.stderr
    project = tmp_path / "projects" / "repeat_family_analysis"
    assert json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]["status_command"] == "auto"
    git(tmp_path, "init", "-q", str(project))
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "generated")

    done = make(project, "regen-profile", "SET=latency_wait=30", env=sync_env(), timeout=180)
    assert ("regen-profile: status_command was recorded as auto; kept as squeue, the command the profile names"
            in done.stdout)
    answers = json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]
    assert (answers["status_command"], answers["latency_wait"]) == ("squeue", "30")
    git(project, "commit", "-q", "-am", "latency 30")

    done = make(project, "regen-profile", "SET=status_command=auto", env=sync_env(), timeout=180)
    assert "regen-profile: status_command auto is squeue on this cluster" in done.stdout
    assert json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]["status_command"] == "squeue"
    assert yaml.safe_load((project / "profiles/slurm/config.yaml").read_text())["slurm-status-command"] == "squeue"


def test_a_template_in_a_path_with_an_emoji_bakes(template_repo, tmp_path):
    moved = tmp_path / "tpl 🧬"
    template_repo.rename(moved)
    done = run([sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", str(tmp_path / "out"), str(moved)],
               env=sync_env(), timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out/repeat_family_analysis/profiles/slurm/config.yaml").is_file()
