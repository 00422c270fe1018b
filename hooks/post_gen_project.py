"""Finish the generated project: run bits, the recorded answers (.cruft.json, for
regenerating the profile and taking template updates), and a check that the
profiles parse and hold nothing Snakemake 8+ or the SLURM plugin would refuse.

Runs inside the new project and uses its own scripts/, the same code its users
run. Jinja fills in the answers below as JSON, so no answer is ever Python code.
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, "scripts")

import yaml  # noqa: E402
from profile_lint import lint_profile, lint_warnings, load_profile  # noqa: E402
from template_sync import record_answers  # noqa: E402

CONTEXT = json.loads({{ cookiecutter | jsonify | jsonify }})
# Hooks are rendered from the template's root: its absolute path, whatever
# (perhaps relative) path cookiecutter was given.
TEMPLATE_DIR = Path(json.loads({{ template_scripts_dir() | jsonify | jsonify }})).parent.parent

SCRIPT_DIRS = ["scripts", "workflow/scripts"]


def set_run_bits() -> None:
    """Every file with a #! line is a command; the rest (sourced, imported) is not."""
    for directory in SCRIPT_DIRS:
        for path in Path(directory).iterdir():
            if path.is_file() and path.read_bytes()[:2] == b"#!":
                path.chmod(path.stat().st_mode | 0o111)


def check_yaml_files() -> list[str]:
    problems = []
    for path in sorted(Path(".").rglob("*.yaml")):
        try:
            yaml.safe_load(path.read_text())
        except yaml.YAMLError as error:
            problems.append(f"{path} is not valid YAML: {error}")
    for profile_dir in sorted(Path("profiles").iterdir()):
        try:
            profile = load_profile(profile_dir)
        except (OSError, ValueError, yaml.YAMLError):
            continue  # reported above
        # A generated profile holds not even a deprecated setting.
        problems += lint_profile(profile, name=str(profile_dir)) + lint_warnings(profile, name=str(profile_dir))
    return problems


def main() -> int:
    set_run_bits()
    warning = record_answers(CONTEXT, Path.cwd(), TEMPLATE_DIR)
    if warning:
        print(f"WARNING {warning}", file=sys.stderr)
    problems = check_yaml_files()
    for problem in problems:
        print(f"ERROR {problem}", file=sys.stderr)
    if problems:
        print("The generated project is broken; please report this as a template bug.", file=sys.stderr)
        return 1
    print(f"Project created in {Path.cwd()}. Next: cd there, then 'make help'.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
