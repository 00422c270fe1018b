#!/usr/bin/env bash
# Release the lock a killed Snakemake left in .snakemake/locks, so that the
# next run may start. Refuses while this project's coordinator is pending or
# running: two Snakemakes must never write the same outputs.
#
# Usage: scripts/unlock.sh
# Exit codes: 0 released (or nothing to release); 1 Snakemake could not unlock;
# 3 the coordinator is pending or running, or a 'make local' run holds the lock;
# 5 the SLURM controller did not answer.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

[[ $# -eq 0 ]] || die "$EXIT_USAGE" "usage: scripts/unlock.sh (no arguments)"

state="$(coordinator_state)" || true
case "$state" in
    pending | running)
        die "$EXIT_ACTIVE" "coordinator job $(latest_job_id) is $state and holds the lock; stop it with 'make cancel' instead"
        ;;
    unknown)
        die "$EXIT_NO_CONTROLLER" "the SLURM controller did not answer, so whether the coordinator still runs is unknown; nothing was unlocked"
        ;;
esac

if [[ "$(foreground_run)" == yes ]]; then
    die "$EXIT_ACTIVE" "a Snakemake started here with make (local, clean, ...) is running and holds the lock; let it finish or stop it"
fi

if ! locks_present; then
    echo "unlock: no lock to release"
    exit 0
fi
"$(find_snakemake)" --snakefile "$SNAKEFILE" --directory "$PROJECT_DIR" --unlock >/dev/null ||
    die "$EXIT_FAILED" "snakemake --unlock failed (run it by hand to see why)"
echo "unlock: released the lock; 'make submit' starts the run again"
