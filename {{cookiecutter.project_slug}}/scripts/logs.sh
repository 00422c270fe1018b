#!/usr/bin/env bash
# Show the end of the coordinator's log, following it for a bounded time (never
# longer than asked, so it is safe in scripts and agents); or the newest log of
# one rule's jobs (its own log under logs/rules/ or its SLURM log, whichever
# was written last).
#
# Usage: scripts/logs.sh [--follow SECONDS] [--lines N] [--rule RULE]
# Exit codes: 0 shown; 2 usage; 4 nothing to show yet.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

follow_s=0
lines=40
rule=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --follow) follow_s="${2:-}"; shift 2 ;;
        --lines) lines="${2:-}"; shift 2 ;;
        --rule) rule="${2:-}"; shift 2 ;;
        *) die "$EXIT_USAGE" "usage: scripts/logs.sh [--follow SECONDS] [--lines N] [--rule RULE]" ;;
    esac
done
[[ "$follow_s" =~ ^[0-9]{1,6}$ && "$lines" =~ ^[0-9]{1,6}$ ]] ||
    die "$EXIT_USAGE" "--follow and --lines take whole numbers"
# Base 10: a leading zero (08) is not octal here.
follow_s=$((10#$follow_s))
lines=$((10#$lines))

if [[ -n "$rule" ]]; then
    [[ "$rule" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "$EXIT_USAGE" "--rule takes a rule name, not '$rule'"
    # The rule's own logs (logs/rules/RULE/... or logs/rules/RULE.log) and its SLURM logs.
    newest="$( { find "$PROJECT_DIR/logs/rules" -type f \( -path "*/rules/$rule/*" -o -name "$rule.*" \) \
        -printf '%T@ %p\n' 2>/dev/null || true
        find "$PROJECT_DIR/.snakemake/slurm_logs/rule_$rule" -type f -printf '%T@ %p\n' 2>/dev/null || true
    } | sort -n | tail -n 1 | cut -d' ' -f2-)"
    [[ -n "$newest" ]] || die "$EXIT_NONE" "no log of rule $rule yet (the SLURM plugin deletes the logs of jobs that succeeded)"
    echo "==> $newest <=="
    tail -n "$lines" "$newest"
    exit 0
fi

job_id="$(latest_job_id)" || die "$EXIT_NONE" "nothing submitted yet: 'make submit' starts a run"
log="$(coordinator_log "$job_id")"
[[ -f "$log" ]] || die "$EXIT_NONE" "coordinator job $job_id has not written its log yet ($log)"

echo "==> $log <=="
# A coordinator that has ended writes nothing more: no need to wait.
if [[ "$follow_s" -gt 0 && ! -f "$COORDINATOR_DIR/$job_id.end" ]]; then
    timeout "$follow_s" tail -n "$lines" -F "$log" || true
else
    tail -n "$lines" "$log"
fi
