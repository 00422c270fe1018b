#!/usr/bin/env python3
"""Keep this project in step with the answers it was made from and with its template.

  scripts/template_sync.py regen-profile NAME=VALUE [NAME=VALUE ...]
      Render the project again with some answers changed (e.g. latency_wait=90
      slurm_partition=long), at the template revision it was made from: only
      the files that depend on those answers change (the profiles), the answers
      are checked first with the same rules as at generation, and the changes
      are shown.
  scripts/template_sync.py update
      Take the template's newest revision, keeping your own edits; conflicts
      are reported, never silently overwritten.

Both go through cruft (cruft.github.io), reading the answers recorded in
.cruft.json; a project made by plain cookiecutter records them itself.

Exit codes: 0 done; 1 refused or failed (the reason is printed); 2 usage.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import answer_check  # noqa: E402
import answers  # noqa: E402
import cluster_facts  # noqa: E402

PROJECT_DIR = Path(__file__).resolve().parent.parent
RECORD = PROJECT_DIR / ".cruft.json"
# Not compared before and after: made by runs, or too large to matter here.
NOT_COMPARED = {".git", ".snakemake", ".venv", "results", "logs", "resources", "__pycache__"}
MAX_COMPARED_BYTES = 1_000_000
# Answers that name the project itself: changing them means a new project.
FIXED_ANSWERS = {"project_slug"}
# cookiecutter's own abbreviations for template sources.
ABBREVIATIONS = {"gh": "https://github.com/{0}.git", "gl": "https://gitlab.com/{0}.git",
                 "bb": "https://bitbucket.org/{0}"}


class SyncError(Exception):
    pass


# --- recording the answers (called by the template's post-generation hook) ------


def template_source(context: dict) -> str:
    """Where the template can be fetched again: its URL, or the absolute path of a local copy."""
    template = str(context.get("_template", ""))
    for vcs in ("git+", "hg+"):  # cookiecutter's way of naming the kind of repository
        template = template.removeprefix(vcs)
    prefix, sep, rest = template.partition(":")
    if sep and prefix in ABBREVIATIONS:
        return ABBREVIATIONS[prefix].format(rest)
    if "://" in template or template.startswith("git@"):
        return template
    return str(Path(context.get("_repo_dir") or template).resolve())


def template_revision(context: dict) -> str | None:
    repo_dir = context.get("_repo_dir")
    if not repo_dir:
        return None
    done = subprocess.run(["git", "-C", str(repo_dir), "rev-parse", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def record_answers(context: dict, project_dir: Path) -> str | None:
    """Write .cruft.json as `cruft create` would, unless cruft itself is generating
    (it then writes the file). Returns a warning when updates will not be possible."""
    if "_commit" in context:
        return None
    commit = template_revision(context)
    kept = {k: v for k, v in context.items() if k not in ("_repo_dir", "_output_dir")}
    record = {
        "template": template_source(context),
        "commit": commit,
        "checkout": context.get("_checkout"),
        "context": {"cookiecutter": {**kept, "_commit": commit}},
        "directory": None,
    }
    (project_dir / ".cruft.json").write_text(json.dumps(record, indent=2) + "\n")
    if commit is None:
        return ("the template was not a git checkout, so 'make update-template' and 'make regen-profile' "
                "cannot fetch it again; generate from a git URL or a git clone to enable them")
    return None


# --- regenerating and updating ---------------------------------------------------


def load_record() -> dict:
    if not RECORD.is_file():
        raise SyncError(f"{RECORD.name} is missing: this project has no recorded answers to regenerate from")
    record = json.loads(RECORD.read_text())
    if not record.get("commit"):
        raise SyncError(f"{RECORD.name} names no template revision: the template was not a git checkout")
    return record


def parse_assignments(words: list[str], recorded: dict) -> dict[str, str]:
    changes = {}
    for word in words:
        name, sep, value = word.partition("=")
        if not sep or name not in answers.RULES:
            raise SyncError(f"{word!r} is not NAME=VALUE with a known answer. Accepted names: "
                            f"{', '.join(sorted(set(answers.RULES) - FIXED_ANSWERS))}. Example: latency_wait=90")
        if name in FIXED_ANSWERS:
            raise SyncError(f"{name} names the project itself and cannot be changed here")
        changes[name] = value
    if not changes:
        raise SyncError("nothing to change. Example: make regen-profile SET=\"latency_wait=90 slurm_partition=long\"")
    return changes


def check(merged: dict) -> None:
    """The checks of generation, with the same messages; raises on any error."""
    offline = os.environ.get("SLURM_TEMPLATE_OFFLINE")
    facts = cluster_facts.ClusterFacts(reachable=False, problem="SLURM_TEMPLATE_OFFLINE is set") if offline \
        else cluster_facts.gather()
    if answer_check.report(merged, facts):
        raise SyncError("nothing was changed: correct the values above")


def snapshot() -> dict[str, str]:
    files = {}
    for path in PROJECT_DIR.rglob("*"):
        relative = path.relative_to(PROJECT_DIR)
        if relative.parts[0] in NOT_COMPARED or not path.is_file() or path.stat().st_size > MAX_COMPARED_BYTES:
            continue
        try:
            files[str(relative)] = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
    return files


def show_changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    changed = sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))
    for name in changed:
        if name == RECORD.name:
            continue  # the recorded answers: its change is named, not shown
        sys.stdout.writelines(difflib.unified_diff(
            before.get(name, "").splitlines(keepends=True), after.get(name, "").splitlines(keepends=True),
            fromfile=f"a/{name}", tofile=f"b/{name}"))
    return changed


def cruft(*args: str) -> subprocess.CompletedProcess:
    executable = shutil.which("cruft") or str(Path(sys.executable).parent / "cruft")
    if not Path(executable).exists():
        raise SyncError("cruft is not installed: pip install -r requirements.txt (or make venv)")
    return subprocess.run([executable, "update", "--project-dir", str(PROJECT_DIR), "--skip-apply-ask",
                           "--allow-untracked-files", *args], capture_output=True, text=True)


def conflicts() -> list[str]:
    rejected = [str(p.relative_to(PROJECT_DIR)) for p in PROJECT_DIR.rglob("*.rej")]
    done = subprocess.run(["git", "-C", str(PROJECT_DIR), "diff", "--name-only", "--diff-filter=U"],
                          capture_output=True, text=True)
    unmerged = done.stdout.split() if done.returncode == 0 else []
    return sorted(set(rejected + unmerged))


def run_cruft(args: list[str]) -> list[str]:
    before = snapshot()
    done = cruft(*args)
    if done.returncode != 0 or "cannot apply updates on an unclean git project" in done.stdout + done.stderr:
        raise SyncError(f"cruft did not update the project:\n{(done.stdout + done.stderr).strip()}")
    changed = show_changes(before, snapshot())
    clashes = conflicts()
    if clashes:
        raise SyncError("conflicts between your edits and the template's, nothing of yours was overwritten: "
                        f"resolve them in {', '.join(clashes)} (git shows them; *.rej files hold what "
                        "did not apply)")
    return changed


def regen_profile(words: list[str]) -> int:
    record = load_record()
    recorded = record["context"]["cookiecutter"]
    changes = parse_assignments(words, recorded)
    check({**recorded, **changes})
    changed = run_cruft(["--variables-to-update", json.dumps(changes), "--checkout", record["commit"]])
    print(f"regen-profile: {', '.join(f'{k}={v}' for k, v in changes.items())}; changed: "
          f"{', '.join(changed) or 'nothing'}")
    return 0


def update() -> int:
    load_record()
    changed = run_cruft([])
    print(f"update-template: changed: {', '.join(changed) or 'nothing (already up to date)'}")
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("regen-profile", "update"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        return regen_profile(argv[1:]) if argv[0] == "regen-profile" else update()
    except SyncError as error:
        print(f"{argv[0]}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
