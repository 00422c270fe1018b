#!/usr/bin/env bash
# Release the lock a killed Snakemake left in .snakemake/locks, so that the
# next run may start; the rule jobs a killed coordinator left are cancelled
# first. Refuses while this project's coordinator is pending or running: two
# Snakemakes must never write the same outputs.
#
# Usage: scripts/unlock.sh
# Exit codes: 0 released (or nothing to release); 1 Snakemake could not unlock,
# or the state is not known (status.py failed); 2 usage;
# 3 the coordinator is pending or running, or a 'make local' run holds the lock;
# 5 the SLURM controller did not answer.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

[[ $# -eq 0 ]] || die "$EXIT_USAGE" "usage: scripts/unlock.sh (no arguments)"

refuse_while_a_run_is_active unlocked
# A killed coordinator's rule jobs may still run and write; they go first, so
# that the next run is the only one writing here.
if [[ "$COORDINATOR_STATE" == stale ]]; then
    cancel_rule_jobs_of "$(latest_job_id)" ||
        die "$EXIT_NO_CONTROLLER" "could not cancel the rule jobs left by coordinator job $(latest_job_id). Nothing was unlocked"
fi

if ! locks_present; then
    echo "unlock: no lock to release"
    exit 0
fi
"$(find_snakemake)" --snakefile "$SNAKEFILE" --directory "$PROJECT_DIR" --unlock >/dev/null ||
    die "$EXIT_FAILED" "snakemake --unlock failed (run it by hand to see why)"
echo "unlock: released the lock; 'make submit' starts the run again"
