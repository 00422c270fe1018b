#!/usr/bin/env bash
# Delete what the workflow made (the outputs Snakemake knows of) and the logs.
# Refused while anything may still be writing here: an active or unclear
# coordinator, rule jobs of a killed one, a 'make local' run, or a held lock.
#
# Usage: scripts/clean.sh
# Exit codes: 0 cleaned; 1 the state is not known (status.py failed); 2 usage;
# 3 something may still be running; 5 the SLURM controller did not answer.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

[[ $# -eq 0 ]] || die "$EXIT_USAGE" "usage: scripts/clean.sh (no arguments)"

refuse_while_a_run_is_active deleted
if [[ "$COORDINATOR_STATE" == stale ]]; then
    die "$EXIT_ACTIVE" "the last coordinator was killed and its rule jobs may still run; 'make cancel' and 'make unlock' first. Nothing was deleted"
fi
if locks_present; then
    die "$EXIT_ACTIVE" "$LOCKS_DIR holds a lock, so a Snakemake may still run here ('make unlock' if none does). Nothing was deleted"
fi

"$PROJECT_DIR/scripts/snakemake.sh" local --delete-all-output --quiet all
rm -rf "$PROJECT_DIR/logs" "$PROJECT_DIR/.snakemake/slurm_logs"
if [[ -d "$PROJECT_DIR/results" ]]; then
    find "$PROJECT_DIR/results" -depth -type d -empty -delete
fi
echo "clean: deleted the workflow's outputs and logs"
