#!/usr/bin/env bash
# Submit the Snakemake coordinator as its own SLURM job and print its job id at
# once; it then submits the rule jobs. Nothing runs in your terminal, so closing
# it (or a command time limit) cannot kill the run.
#
# Usage: scripts/submit_snakemake.sh [--skip-doctor] [SNAKEMAKE_ARGS...]
#   The quick checks of scripts/doctor.py run first; a FAIL stops the
#   submission unless --skip-doctor is given.
# Exit codes: 0 submitted (job id on stdout); 1 a check failed, sbatch refused, or recovery failed;
# 3 this project's coordinator is already pending or running (its id on stdout);
# 5 the SLURM controller did not answer.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

case "${1:-}" in
    -h | --help)
        sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
        exit 0
        ;;
    --skip-doctor)
        skip_doctor=1
        shift
        ;;
    *) skip_doctor=0 ;;
esac

snakemake_bin="$(find_snakemake)"
mkdir -p "$COORDINATOR_DIR"

if [[ "$skip_doctor" -eq 0 ]]; then
    # Only the WARN and FAIL lines: the PASS ones are noise here.
    checks="$(python3 "$PROJECT_DIR/scripts/doctor.py" --quick)" && doctor_ok=1 || doctor_ok=0
    grep -v '^PASS' <<<"$checks" >&2 || true
    [[ "$doctor_ok" -eq 1 ]] ||
        die "$EXIT_FAILED" "nothing was submitted: fix the FAIL above, or submit anyway with --skip-doctor (make submit SKIP_DOCTOR=1)"
fi

# Two submissions at once would both see no coordinator.
exec 9>"$COORDINATOR_DIR/.submit.lock"
flock --nonblock 9 || die "$EXIT_ACTIVE" "another submission of this project is in progress"

# Before anything changes: the coordinator's sbatch settings, read (never
# run) from profiles/slurm/coordinator.env.
settings="$(python3 "$PROJECT_DIR/scripts/coordinator_settings.py")" ||
    die "$EXIT_FAILED" "nothing was submitted: mend profiles/slurm/coordinator.env as said above"
{
    IFS= read -r COORDINATOR_PARTITION
    IFS= read -r COORDINATOR_ACCOUNT
    IFS= read -r COORDINATOR_TIME
    IFS= read -r COORDINATOR_MEM_PER_CPU_MB
    IFS= read -r COORDINATOR_WALLTIME_WARNING_S
} <<<"$settings"

# status.py also finds (and records again) a coordinator whose record was lost.
state="$(known_coordinator_state "Nothing was submitted.")" || exit "$EXIT_FAILED"
previous_job="$(latest_job_id || true)"
extra_args=()
case "$state" in
    pending | running)
        echo "$previous_job"
        die "$EXIT_ACTIVE" "coordinator job $previous_job is already $state; follow it with 'make status' or stop it with 'make cancel'"
        ;;
    unknown)
        die "$EXIT_NO_CONTROLLER" "the SLURM controller did not answer within ${SLURM_TIMEOUT_S} s; nothing was submitted"
        ;;
    stale)
        # The last coordinator died without releasing its lock (killed, node
        # failure): stop its orphaned rule jobs, release the lock, and let the
        # new run redo whatever was incomplete. Finished outputs are kept.
        echo "submit: coordinator job $previous_job ended without releasing its lock; recovering" >&2
        cancel_rule_jobs_of "$previous_job" ||
            die "$EXIT_NO_CONTROLLER" "could not cancel the rule jobs left from job $previous_job; nothing was submitted"
        "$snakemake_bin" --snakefile "$SNAKEFILE" --directory "$PROJECT_DIR" --unlock >/dev/null 2>&1 ||
            die "$EXIT_FAILED" "could not release the stale lock in $LOCKS_DIR; try 'make unlock'"
        echo "submit: released the stale lock" >&2
        extra_args+=(--rerun-incomplete)
        ;;
    *)
        local_run="$(foreground_run)" ||
            die "$EXIT_FAILED" "scripts/status.py could not tell whether a local run is active ('make status' shows why). Nothing was submitted"
        if [[ "$local_run" == yes ]]; then
            die "$EXIT_ACTIVE" "a Snakemake started here with make (local, clean, ...) is running in this project; let it finish first"
        elif locks_present; then
            die "$EXIT_FAILED" "$LOCKS_DIR holds a lock that no coordinator of this project left: if no Snakemake is running in this project, release it with 'make unlock'"
        fi
        ;;
esac

# Conflicting settings inherited from an interactive allocation, a container
# or a user's shell: memory limits that srun refuses to combine, export
# settings that would start the jobs without PATH, and the marks of a
# container the jobs do not run in. SLURM_CONF and the like are kept.
unset SLURM_MEM_PER_NODE SLURM_MEM_PER_CPU SLURM_MEM_PER_GPU \
    SBATCH_MEM_PER_NODE SBATCH_MEM_PER_CPU SBATCH_MEM_PER_GPU \
    SLURM_EXPORT_ENV SBATCH_EXPORT \
    APPTAINER_CONTAINER APPTAINER_NAME SINGULARITY_CONTAINER SINGULARITY_NAME
export USER="${USER:-$(id -un)}"

# sbatch expands % in file names (%% is a literal one) and expands nothing
# after a backslash; such a directory gets the log from run_coordinator.sh only.
if [[ "$COORDINATOR_DIR" == *\\* ]]; then
    slurm_output=/dev/null
else
    slurm_output="${COORDINATOR_DIR//%/%%}/%j.log"
fi
sbatch_args=(
    --parsable
    # One name for every coordinator of this project, so that status finds them.
    --job-name "$(python3 "$PROJECT_DIR/scripts/status.py" --field coordinator_name)"
    --partition "$COORDINATOR_PARTITION"
    --time "$COORDINATOR_TIME"
    --nodes 1 --ntasks 1 --cpus-per-task 1
    --mem-per-cpu "${COORDINATOR_MEM_PER_CPU_MB}M"
    --signal "B:USR1@$COORDINATOR_WALLTIME_WARNING_S"
    # A requeued coordinator would start over unseen; a failed one is recovered by the next submit.
    --no-requeue
    --chdir "$PROJECT_DIR"
    --output "$slurm_output"
    --open-mode append
    --export ALL
)
if [[ -n "$COORDINATOR_ACCOUNT" ]]; then
    sbatch_args+=(--account "$COORDINATOR_ACCOUNT")
fi

submitted="$(slurm_cmd sbatch "${sbatch_args[@]}" "$PROJECT_DIR/scripts/run_coordinator.sh" \
    "$PROJECT_DIR" "$snakemake_bin" "${extra_args[@]}" "$@")" && code=0 || code=$?
if [[ "$code" -eq 124 ]]; then
    die "$EXIT_NO_CONTROLLER" "the SLURM controller did not answer within ${SLURM_TIMEOUT_S} s; if it accepted the job after all, 'make status' finds it"
elif [[ "$code" -ne 0 ]]; then
    die "$EXIT_FAILED" "sbatch did not accept the coordinator job (see its message above)"
fi
job_id="${submitted%%;*}"
[[ "$job_id" =~ ^[0-9]+$ ]] || die "$EXIT_FAILED" "sbatch answered '$submitted' instead of a job id"

echo "$job_id" >"$LATEST_JOB_FILE.new"
mv "$LATEST_JOB_FILE.new" "$LATEST_JOB_FILE"
echo "$job_id"
echo "submit: coordinator job $job_id submitted; follow it with 'make status' (log: logs/coordinator/$job_id.log)" >&2
