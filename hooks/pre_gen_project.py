"""Refuse answers that would make a broken or unsafe project, before any file is written.

Thin on purpose: the rules are the project template's scripts/answers.py and
scripts/cluster_facts.py, which the generated project ships for its own checks.
Jinja fills in the values below as JSON, so no answer is ever Python code here.
"""

import json
import sys

sys.path.insert(0, {{ template_scripts_dir() | jsonify }})

from answers import check_answers  # noqa: E402
from cluster_facts import ClusterFacts, check_against_cluster  # noqa: E402

ANSWERS = json.loads({{ cookiecutter | jsonify | jsonify }})
FACTS = ClusterFacts.from_dict(json.loads({{ cluster_facts() | jsonify | jsonify }}))


def main() -> int:
    verdict = check_answers(ANSWERS)
    errors, warnings = list(verdict.errors), list(verdict.warnings)
    if not errors:
        live_errors, live_warnings = check_against_cluster(verdict.values, FACTS)
        errors += live_errors
        warnings += live_warnings
    for warning in warnings:
        print(f"WARNING {warning}", file=sys.stderr)
    for error in errors:
        print(f"ERROR {error}", file=sys.stderr)
    if errors:
        print("Nothing was generated. Run cookiecutter again with the answers above corrected.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
