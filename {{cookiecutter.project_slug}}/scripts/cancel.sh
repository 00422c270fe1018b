#!/usr/bin/env bash
# Stop this project's run cleanly: the coordinator gets SIGINT, so Snakemake
# cancels its rule jobs and releases its lock. Returns within seconds; asked a
# second time for a run that has not stopped half a minute later, it cancels
# the coordinator and its rule jobs outright.
#
# Usage: scripts/cancel.sh
# Exit codes: 0 stopped or stopping (or nothing to stop); 1 scancel failed, or
# the state is not known (status.py failed); 2 usage; 5 the SLURM controller did not answer.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

[[ $# -eq 0 ]] || die "$EXIT_USAGE" "usage: scripts/cancel.sh (no arguments)"

FORCE_AFTER_S=30
WAIT_S=8

state="$(known_coordinator_state "Nothing was cancelled.")" || exit "$EXIT_FAILED"
job_id="$(latest_job_id || true)"
request_file="$COORDINATOR_DIR/$job_id.cancel_requested"

case "$state" in
    unknown)
        die "$EXIT_NO_CONTROLLER" "the SLURM controller did not answer; nothing was cancelled"
        ;;
    stale)
        cancel_rule_jobs_of "$job_id" || die "$EXIT_NO_CONTROLLER" "could not cancel the rule jobs of job $job_id"
        echo "cancel: coordinator job $job_id was already gone; its rule jobs are cancelled. 'make submit' resumes"
        exit 0
        ;;
    pending)
        slurm_cmd scancel "$job_id" || die "$EXIT_FAILED" "scancel $job_id failed"
        printf 'exit_code=\nreason=cancelled\nstarted=\nended=%s\n' "$(date -Iseconds)" >"$COORDINATOR_DIR/$job_id.end"
        echo "cancel: coordinator job $job_id was still pending and is cancelled"
        exit 0
        ;;
    running) ;;
    *)
        echo "cancel: nothing to cancel (coordinator: $state)"
        exit 0
        ;;
esac

if [[ -f "$request_file" ]] && (($(date +%s) - $(stat -c %Y "$request_file") > FORCE_AFTER_S)); then
    echo "cancel: job $job_id did not stop within ${FORCE_AFTER_S} s of the first request; cancelling it outright"
    slurm_cmd scancel "$job_id" || die "$EXIT_FAILED" "scancel $job_id failed"
    cancel_rule_jobs_of "$job_id" || true
    exit 0
fi

# Only the batch shell gets the signal; run_coordinator.sh hands it to Snakemake.
slurm_cmd scancel --batch --signal INT "$job_id" || die "$EXIT_FAILED" "scancel --signal INT $job_id failed"
[[ -f "$request_file" ]] || touch "$request_file"
echo "cancel: asked coordinator job $job_id to stop; Snakemake is cancelling its rule jobs"
for _ in $(seq 1 "$WAIT_S"); do
    sleep 1
    if [[ -f "$COORDINATOR_DIR/$job_id.end" ]]; then
        echo "cancel: the run has stopped and released its lock; 'make submit' resumes it"
        exit 0
    fi
done
echo "cancel: still stopping; 'make status' shows when it has ended"
