# Shared by the project's scripts (sourced, not run): absolute paths, the
# Snakemake to use, the coordinator's record, and SLURM queries that can never
# hang. Every path is absolute, so the scripts work from any directory.
# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables are used by the scripts that source this file

# An exported CDPATH makes cd print the directory, which would end up in the paths.
unset CDPATH
PROJECT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
SNAKEFILE="$PROJECT_DIR/workflow/Snakefile"
SLURM_PROFILE="$PROJECT_DIR/profiles/slurm"
LOCAL_PROFILE="$PROJECT_DIR/profiles/local"
COORDINATOR_DIR="$PROJECT_DIR/logs/coordinator"
LATEST_JOB_FILE="$COORDINATOR_DIR/latest_job_id"
LOCKS_DIR="$PROJECT_DIR/.snakemake/locks"
# Held (shared) by every Snakemake that scripts/snakemake.sh starts, so that a
# lock in LOCKS_DIR can be told apart from one a dead coordinator left.
FOREGROUND_LOCK="$PROJECT_DIR/.snakemake/foreground_run.flock"
# Longest any single SLURM command may take before we give up on the controller.
SLURM_TIMEOUT_S="${SLURM_TIMEOUT_S:-5}"
# The same rule as scripts/status.py: seconds above 0, at most 9999.
if [[ ! "$SLURM_TIMEOUT_S" =~ ^[0-9]{1,4}(\.[0-9]+)?$ || "$SLURM_TIMEOUT_S" =~ ^[0.]+$ ]]; then
    echo "$(basename "$0"): SLURM_TIMEOUT_S must be seconds above 0, at most 9999 (such as 5 or 2.5), not '$SLURM_TIMEOUT_S'" >&2
    exit 2
fi

# Exit codes shared by the lifecycle scripts (README: "Exit codes").
readonly EXIT_FAILED=1 EXIT_USAGE=2 EXIT_ACTIVE=3 EXIT_NONE=4 EXIT_NO_CONTROLLER=5

die() {
    local code="$1"
    shift
    echo "$(basename "$0"): $*" >&2
    exit "$code"
}

# The snakemake executable: $SNAKEMAKE, else the project's .venv, else PATH.
find_snakemake() {
    local candidate="${SNAKEMAKE:-}"
    if [[ -z "$candidate" && -x "$PROJECT_DIR/.venv/bin/snakemake" ]]; then
        candidate="$PROJECT_DIR/.venv/bin/snakemake"
    fi
    if [[ -z "$candidate" ]]; then
        candidate="$(command -v snakemake || true)"
    fi
    if [[ -z "$candidate" || ! -x "$candidate" ]]; then
        die "$EXIT_FAILED" "snakemake not found: run 'make venv', activate the environment that has it, or set SNAKEMAKE=/path/to/snakemake"
    fi
    # Absolute, so that the coordinator job runs this very installation.
    echo "$(cd "$(dirname "$candidate")" && pwd -P)/$(basename "$candidate")"
}

slurm_cmd() {
    timeout "$SLURM_TIMEOUT_S" "$@"
}

latest_job_id() {
    local id
    [[ -s "$LATEST_JOB_FILE" ]] && id="$(<"$LATEST_JOB_FILE")" && [[ "$id" =~ ^[0-9]+$ ]] && echo "$id"
}

coordinator_log() {
    echo "$COORDINATOR_DIR/$1.log"
}

# The state of this project's run (none, pending, running, completed, failed,
# cancelled, timeout, stale, unknown), as scripts/status.py decides it; its
# exit status is status.py's (5: the controller did not answer).
coordinator_state() {
    python3 "$PROJECT_DIR/scripts/status.py" --field state
}

# "yes" while a Snakemake started by scripts/snakemake.sh runs in this project.
foreground_run() {
    python3 "$PROJECT_DIR/scripts/status.py" --field foreground_run
}

# Stop the calling script while anything may still write in this project: a
# coordinator that is pending or running, a Snakemake started through
# scripts/snakemake.sh, or a state SLURM does not tell. $1 names what is then
# left undone ("unlocked", "deleted"). Sets COORDINATOR_STATE for the caller.
# The state as coordinator_state gives it, or the end of the calling script
# when status.py could not tell: a crash must never read as "nothing is
# running". $1 names what is then left undone.
known_coordinator_state() {
    local state code=0
    # status.py exits with a code per state; only its answer on stdout counts.
    state="$(coordinator_state)" || code=$?
    case "$state" in
        none | pending | running | completed | failed | cancelled | timeout | stale | unknown)
            echo "$state"
            ;;
        *)
            die "$EXIT_FAILED" "scripts/status.py could not tell whether a run is active (exit $code; 'make status' shows why). $1"
            ;;
    esac
}

refuse_while_a_run_is_active() {
    local undone="Nothing was $1" local_run
    COORDINATOR_STATE="$(known_coordinator_state "$undone")" || exit "$EXIT_FAILED"
    case "$COORDINATOR_STATE" in
        pending | running)
            die "$EXIT_ACTIVE" "coordinator job $(latest_job_id) is $COORDINATOR_STATE; stop it with 'make cancel' first. $undone"
            ;;
        unknown)
            die "$EXIT_NO_CONTROLLER" "the SLURM controller did not answer, so whether a run is active is unknown. $undone"
            ;;
    esac
    local_run="$(foreground_run)" ||
        die "$EXIT_FAILED" "scripts/status.py could not tell whether a local run is active ('make status' shows why). $undone"
    if [[ "$local_run" == yes ]]; then
        die "$EXIT_ACTIVE" "a Snakemake started here with make (local, clean, ...) is running; let it finish first. $undone"
    fi
}

hold_foreground_lock() {
    mkdir -p "$(dirname "$FOREGROUND_LOCK")"
    exec 8>>"$FOREGROUND_LOCK"
    flock --shared 8
}

locks_present() {
    [[ -d "$LOCKS_DIR" ]] && [[ -n "$(ls -A "$LOCKS_DIR" 2>/dev/null)" ]]
}

# The run id the SLURM plugin gives every rule job of one run (their job name).
run_id_of_log() {
    [[ -f "$1" ]] && sed -n 's/^SLURM run ID: //p' "$1" | tail -n 1
}

# Cancel the rule jobs a coordinator's run left in the queue, if any.
cancel_rule_jobs_of() {
    local run_id
    run_id="$(run_id_of_log "$(coordinator_log "$1")" || true)"
    [[ -z "$run_id" ]] && return 0
    echo "cancelling the rule jobs of run $run_id" >&2
    slurm_cmd scancel --name "$run_id"
}
