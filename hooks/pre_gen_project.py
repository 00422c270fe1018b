"""Refuse answers that would make a broken or unsafe project, before any file is written.

Thin on purpose: the rules are the project template's scripts/answers.py and
scripts/cluster_facts.py (through scripts/answer_check.py), which the generated
project ships for its own checks. Jinja fills in the values below as JSON, so
no answer is ever Python code here.
"""

import json
import sys
from pathlib import Path

SCRIPTS_DIR = Path(json.loads({{ template_scripts_dir() | jsonify | jsonify }}))
sys.path.insert(0, str(SCRIPTS_DIR))

from answer_check import report  # noqa: E402
from cluster_facts import ClusterFacts  # noqa: E402

ANSWERS = json.loads({{ cookiecutter | jsonify | jsonify }})
FACTS = ClusterFacts.from_dict(json.loads({{ cluster_facts() | jsonify | jsonify }}))

if __name__ == "__main__":
    if report(ANSWERS, FACTS):
        # cookiecutter saved the answers before this hook ran: no need to type them all again.
        replay = f"~/.cookiecutter_replay/{SCRIPTS_DIR.parent.parent.name}.json"
        print(f"Nothing was generated. Run cookiecutter again with the answers above corrected, or correct "
              f"them in its replay file ({replay} by default) and run: cookiecutter --replay-file {replay} "
              "TEMPLATE", file=sys.stderr)
        sys.exit(1)
