#!/usr/bin/env python3
"""Keep this project in step with the answers it was made from and with its template.

  scripts/template_sync.py regen-profile NAME=VALUE [NAME=VALUE ...]
  scripts/template_sync.py regen-profile --set "NAME=VALUE NAME='A VALUE' ..."
      Render the project again with some answers changed (e.g. latency_wait=90
      slurm_partition=long), at the template revision it was made from: only
      the files that depend on those answers change (the profiles; the rules'
      container: lines for the Apptainer answers), the answers are checked
      first with the same rules as at generation, and the changes are shown.
      Where the user's edits touch the same lines, nothing is changed.
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
import shlex
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
MAX_SHOWN_BYTES = 1_000_000
# Larger files are data, never rendered from the template, so cruft never touches them.
MAX_SNAPSHOT_BYTES = 50_000_000
# Answers that name the project itself: changing them means a new project.
FIXED_ANSWERS = {"project_slug"}
# cookiecutter's own abbreviations for template sources.
ABBREVIATIONS = {"gh": "https://github.com/{0}.git", "gl": "https://gitlab.com/{0}.git",
                 "bb": "https://bitbucket.org/{0}"}


class SyncError(Exception):
    pass


# --- recording the answers (called by the template's post-generation hook) ------


def template_source(context: dict, template_dir: Path) -> str:
    """Where the template can be fetched again: its URL, or the absolute path of a local copy."""
    template = str(context.get("_template", ""))
    for vcs in ("git+", "hg+"):  # cookiecutter's way of naming the kind of repository
        template = template.removeprefix(vcs)
    prefix, sep, rest = template.partition(":")
    if sep and prefix in ABBREVIATIONS:
        return ABBREVIATIONS[prefix].format(rest)
    if "://" in template or template.startswith("git@"):
        return template
    return str(template_dir)


def git_in(directory: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(directory), *args], capture_output=True, text=True)


def template_revision(template_dir: Path) -> str | None:
    done = git_in(template_dir, "rev-parse", "HEAD")
    return done.stdout.strip() if done.returncode == 0 else None


def template_has_uncommitted_changes(template_dir: Path) -> bool:
    done = git_in(template_dir, "status", "--porcelain", "--untracked-files=no")
    return done.returncode == 0 and bool(done.stdout.strip())


def record_answers(context: dict, project_dir: Path, template_dir: Path) -> str | None:
    """Write .cruft.json as `cruft create` would, unless cruft itself is generating
    (it then writes the file). template_dir: the absolute path of the template
    rendered (cookiecutter's _repo_dir may be relative to a directory now left).
    Returns a warning when updates will not work as a user expects."""
    if "_commit" in context:
        return None
    commit = template_revision(template_dir)
    kept = {k: v for k, v in context.items() if k not in ("_repo_dir", "_output_dir")}
    # 'auto' was resolved against the cluster of this day; a later render must
    # not resolve it anew, or the profile would differ from its own record.
    kept["status_command"] = resolved_status_command(project_dir, kept.get("status_command"))
    record = {
        "template": template_source(context, template_dir),
        "commit": commit,
        "checkout": context.get("_checkout"),
        "context": {"cookiecutter": {**kept, "_commit": commit}},
        "directory": None,
    }
    (project_dir / ".cruft.json").write_text(json.dumps(record, indent=2) + "\n")
    if commit is None:
        return ("the template was not a git checkout, so 'make update-template' and 'make regen-profile' "
                "cannot fetch it again; generate from a git URL or a git clone to enable them")
    if template_has_uncommitted_changes(template_dir):
        return (f"the template in {template_dir} has uncommitted changes: they are in this project, but "
                f".cruft.json records revision {commit[:12]}, which lacks them, so 'make update-template' may "
                "report conflicts in files you never edited; commit the template's changes and generate again")
    return None


def resolved_status_command(project_dir: Path, answer: object) -> object:
    if answer != "auto":
        return answer
    for line in (project_dir / "profiles" / "slurm" / "config.yaml").read_text().splitlines():
        key, _, value = line.partition(":")
        if key == "slurm-status-command":
            return json.loads(value.strip())
    return answer


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
                            f"{', '.join(sorted(set(answers.RULES) - FIXED_ANSWERS))}; quote a value with spaces. "
                            "Example: SET=\"latency_wait=90 description='two words'\"")
        if name in FIXED_ANSWERS:
            raise SyncError(f"{name} names the project itself and cannot be changed here")
        changes[name] = value
    if not changes:
        raise SyncError("nothing to change. Example: make regen-profile SET=\"latency_wait=90 slurm_partition=long\"")
    return changes


def check(merged: dict) -> cluster_facts.ClusterFacts:
    """The checks of generation, with the same messages; raises on any error.
    Returns what the cluster said."""
    offline = os.environ.get("SLURM_TEMPLATE_OFFLINE")
    facts = cluster_facts.ClusterFacts(reachable=False, problem="SLURM_TEMPLATE_OFFLINE is set") if offline \
        else cluster_facts.gather()
    if answer_check.report(merged, facts):
        raise SyncError("nothing was changed: correct the values above")
    return facts


def pin_status_command(changes: dict[str, str], recorded: dict, facts: cluster_facts.ClusterFacts) -> None:
    """'auto' is resolved against the cluster of the day it is rendered: the record
    must name the command itself, or the profile and its record drift apart."""
    if changes.get("status_command") == "auto":
        changes["status_command"] = cluster_facts.resolve_status_command("auto", facts)
        print(f"regen-profile: status_command auto is {changes['status_command']} on this cluster")
    elif "status_command" not in changes and recorded.get("status_command") == "auto":
        changes["status_command"] = resolved_status_command(PROJECT_DIR, "auto")
        print(f"regen-profile: status_command was recorded as auto; kept as {changes['status_command']}, "
              "the command the profile names")


def snapshot() -> dict[str, bytes]:
    """Every file of the project outside what runs make, byte for byte (restored as it was)."""
    files = {}
    for path in PROJECT_DIR.rglob("*"):
        relative = path.relative_to(PROJECT_DIR)
        if relative.parts[0] in NOT_COMPARED or path.is_symlink() or not path.is_file() \
                or path.stat().st_size > MAX_SNAPSHOT_BYTES:
            continue
        try:
            files[str(relative)] = path.read_bytes()
        except OSError:
            continue
    return files


def show_changes(before: dict[str, bytes], after: dict[str, bytes], out=sys.stdout) -> list[str]:
    changed = sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))
    for name in changed:
        if name == RECORD.name:
            continue  # the recorded answers: its change is named, not shown
        old, new = before.get(name, b""), after.get(name, b"")
        if max(len(old), len(new)) > MAX_SHOWN_BYTES:
            print(f"(changed: {name}, too large to show)", file=out)
            continue
        out.writelines(difflib.unified_diff(
            old.decode(errors="replace").splitlines(keepends=True),
            new.decode(errors="replace").splitlines(keepends=True), fromfile=f"a/{name}", tofile=f"b/{name}"))
    return changed


def cruft(*args: str) -> subprocess.CompletedProcess:
    # The project's .venv first, as for snakemake (scripts/common.sh), then PATH.
    candidates = [PROJECT_DIR / ".venv" / "bin" / "cruft", shutil.which("cruft"), Path(sys.executable).parent / "cruft"]
    executable = next((str(path) for path in candidates if path and Path(path).is_file()), "")
    if not executable:
        raise SyncError("cruft is not installed: pip install -r requirements.txt (or make venv)")
    return subprocess.run([executable, "update", "--project-dir", str(PROJECT_DIR), "--skip-apply-ask",
                           "--allow-untracked-files", *args], capture_output=True, text=True)


def conflicts(before: dict[str, bytes], after: dict[str, bytes]) -> list[str]:
    """Files cruft could not merge: new .rej files, and files git left unmerged."""
    rejected = [name for name in after if name.endswith(".rej") and before.get(name) != after[name]]
    done = git_in(PROJECT_DIR, "diff", "--name-only", "--diff-filter=U")
    unmerged = done.stdout.split() if done.returncode == 0 else []
    return sorted(set(rejected + unmerged))


def restore(before: dict[str, bytes], after: dict[str, bytes]) -> None:
    """Put every file back as it was before cruft ran (no half-applied change)."""
    for name in set(before) | set(after):
        path = PROJECT_DIR / name
        if name not in before:
            path.unlink(missing_ok=True)
        elif after.get(name) != before[name]:
            path.write_bytes(before[name])
    # In git, cruft may leave unmerged index entries; the tree was clean before.
    git_in(PROJECT_DIR, "reset", "--quiet")


def run_cruft(args: list[str], undo_on_conflict: bool = False) -> list[str]:
    before = snapshot()
    done = cruft(*args)
    if done.returncode != 0 or "cannot apply updates on an unclean git project" in done.stdout + done.stderr:
        raise SyncError(f"cruft did not update the project:\n{(done.stdout + done.stderr).strip()}")
    after = snapshot()
    clashes = conflicts(before, after)
    if clashes and undo_on_conflict:
        restore(before, after)
        files = sorted({name.removesuffix(".rej") for name in clashes})
        print("What the new answers would change (the lines that clash with your edits are marked "
              "<<<<<<< ... >>>>>>> or listed as rejected hunks):", file=sys.stderr)
        show_changes(before, after, out=sys.stderr)
        raise SyncError(
            f"your edits in {', '.join(files)} touch lines that these answers change; nothing was changed "
            "(answers and files are as before). Make the change shown above by hand, or move your edits "
            "out of the way and run the command again")
    changed = show_changes(before, after)
    if not clashes:
        # cruft stages some files and not others: leave them all for the user to review and commit.
        git_in(PROJECT_DIR, "reset", "--quiet")
    if clashes:
        raise SyncError("conflicts between your edits and the template's, nothing of yours was overwritten: "
                        f"resolve them in {', '.join(clashes)} (git shows them; *.rej files hold what "
                        "did not apply)")
    return changed


def follow_defaults(changes: dict[str, str], recorded: dict) -> dict[str, str]:
    """Answers whose default is another answer follow it when they were left at that default."""
    followed = {}
    for derived, source in answers.DEFAULTS_FROM.items():
        if source in changes and derived not in changes and recorded.get(derived) == recorded.get(source):
            followed[derived] = changes[source]
    return followed


def assignment_words(argv: list[str]) -> list[str]:
    """NAME=VALUE words: given one by one, or as one string after --set (make's SET),
    split like a shell line (quotes group words) without running or expanding anything."""
    if argv[:1] != ["--set"]:
        return argv
    if len(argv) != 2:
        raise SyncError("--set takes one string. Example: --set \"latency_wait=90 slurm_partition=long\"")
    try:
        return shlex.split(argv[1])
    except ValueError as error:
        raise SyncError(f"SET={argv[1]!r} cannot be split into NAME=VALUE words: {error}. "
                        "Example: SET=\"latency_wait=90 description='two words'\"") from None


def regen_profile(argv: list[str]) -> int:
    words = assignment_words(argv)
    record = load_record()
    recorded = record["context"]["cookiecutter"]
    changes = parse_assignments(words, recorded)
    followed = follow_defaults(changes, recorded)
    changes.update(followed)
    facts = check({**recorded, **changes})
    for derived, value in followed.items():
        print(f"regen-profile: {derived} follows {answers.DEFAULTS_FROM[derived]} (it had the same value): {value}")
    pin_status_command(changes, recorded, facts)
    changed = run_cruft(["--variables-to-update", json.dumps(changes), "--checkout", record["commit"]],
                        undo_on_conflict=True)
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
