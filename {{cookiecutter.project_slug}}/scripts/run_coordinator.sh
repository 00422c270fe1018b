#!/usr/bin/env bash
# The coordinator job itself (submitted by submit_snakemake.sh; not for direct
# use): runs Snakemake with the SLURM profile, turns SLURM's warning before the
# time limit and 'make cancel' into a clean stop, and records how the run ended
# in logs/coordinator/<job id>.end for 'make status'.
#
# Usage: sbatch ... scripts/run_coordinator.sh PROJECT_DIR SNAKEMAKE [SNAKEMAKE_ARGS...]
# Exit code: Snakemake's.
set -uo pipefail

if [[ $# -lt 2 || -z "${SLURM_JOB_ID:-}" ]]; then
    echo "usage: sbatch ... scripts/run_coordinator.sh PROJECT_DIR SNAKEMAKE [ARGS...] (use 'make submit')" >&2
    exit 2
fi
# sbatch runs a copy of this file from its spool directory: find the project
# from the argument, not from this file's location.
# shellcheck source=scripts/common.sh
source "$1/scripts/common.sh"
snakemake_bin="$2"
shift 2

# Rule jobs must not inherit this job's memory settings (srun refuses
# SLURM_MEM_PER_NODE next to a rule's --mem-per-cpu) nor its export setting.
unset SLURM_MEM_PER_NODE SLURM_MEM_PER_CPU SLURM_MEM_PER_GPU SLURM_EXPORT_ENV SBATCH_EXPORT
export USER="${USER:-$(id -un)}"

# The log is written here, not only through sbatch --output: that cannot name
# every directory (a backslash stops its patterns).
exec >>"$(coordinator_log "$SLURM_JOB_ID")" 2>&1
end_file="$COORDINATOR_DIR/$SLURM_JOB_ID.end"
rm -f "$end_file"
reason=finished
started="$(date -Iseconds)"
snakemake_pid=""
# shellcheck disable=SC2317,SC2329  # called by the traps below
stop_snakemake() {
    reason="$1"
    echo "coordinator: $reason: asking Snakemake to stop (cancels its jobs, releases the lock)"
    [[ -n "$snakemake_pid" ]] && kill -INT "$snakemake_pid" 2>/dev/null
}
trap 'stop_snakemake walltime' USR1
trap 'stop_snakemake cancelled' INT TERM

# Job control gives Snakemake its own process group and, unlike a plain
# background job of a script, lets it receive SIGINT.
set -m
"$snakemake_bin" --snakefile "$SNAKEFILE" --directory "$PROJECT_DIR" --workflow-profile "$SLURM_PROFILE" "$@" &
snakemake_pid=$!
# A trapped signal interrupts wait; keep waiting until Snakemake has exited.
wait "$snakemake_pid"
code=$?
while kill -0 "$snakemake_pid" 2>/dev/null; do
    wait "$snakemake_pid"
    code=$?
done

printf 'exit_code=%s\nreason=%s\nstarted=%s\nended=%s\n' "$code" "$reason" "$started" "$(date -Iseconds)" >"$end_file"
echo "coordinator: Snakemake exited with code $code ($reason)"
exit "$code"
