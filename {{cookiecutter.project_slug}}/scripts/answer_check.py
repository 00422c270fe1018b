"""Check a full set of answers: every rule of answers.py, then, where a cluster
answered, cluster_facts.check_against_cluster for those that passed. Prints the verdict the way
generation does (WARNING and ERROR lines on stderr). Used by the template's
pre-generation hook and by template_sync.py regen-profile, so a value is
refused with the same words at both times.
"""

from __future__ import annotations

import sys

from answers import check_answers
from cluster_facts import ClusterFacts, check_against_cluster


def report(answers: dict, facts: ClusterFacts) -> list[str]:
    """The errors (already printed); empty when every answer may be used."""
    verdict = check_answers(answers)
    errors, warnings = list(verdict.errors), list(verdict.warnings)
    # The answers that passed are checked against the cluster too, so that one
    # round of corrections is enough.
    live_errors, live_warnings = check_against_cluster(verdict.values, facts)
    errors += live_errors
    warnings += live_warnings
    for warning in warnings:
        print(f"WARNING {warning}", file=sys.stderr)
    for error in errors:
        print(f"ERROR {error}", file=sys.stderr)
    return errors
