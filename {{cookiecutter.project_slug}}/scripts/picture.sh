#!/usr/bin/env bash
# Draw the workflow's job graph (make dag) with Graphviz, or build Snakemake's
# self-contained HTML report of the last run (make report).
#
# Usage: scripts/picture.sh dag|report
# Exit codes: 0 written (the path is printed); 1 Snakemake or Graphviz failed; 2 usage.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

mkdir -p "$PROJECT_DIR/results"
case "${1:-}" in
    dag)
        command -v dot >/dev/null ||
            die "$EXIT_FAILED" "Graphviz's dot is missing: apt-get install graphviz (or conda install graphviz)"
        out="$PROJECT_DIR/results/dag.svg"
        "$PROJECT_DIR/scripts/snakemake.sh" local --dag --quiet all | dot -Tsvg >"$out.new" ||
            die "$EXIT_FAILED" "could not draw the job graph (see above)"
        mv "$out.new" "$out"
        ;;
    report)
        out="$PROJECT_DIR/results/report.html"
        "$PROJECT_DIR/scripts/snakemake.sh" local --report "$out" >/dev/null ||
            die "$EXIT_FAILED" "could not build the report (see above); it needs a finished run"
        ;;
    *) die "$EXIT_USAGE" "usage: scripts/picture.sh dag|report" ;;
esac
echo "$out"
