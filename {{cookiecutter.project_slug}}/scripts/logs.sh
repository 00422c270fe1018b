#!/usr/bin/env bash
# Show the end of the coordinator's log, or follow it for a bounded time (it
# never blocks for longer than asked, so it is safe in scripts and agents).
#
# Usage: scripts/logs.sh [--follow SECONDS] [--lines N]
# Exit codes: 0 shown; 2 usage; 4 nothing submitted yet.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

follow_s=0
lines=40
while [[ $# -gt 0 ]]; do
    case "$1" in
        --follow) follow_s="${2:-}"; shift 2 ;;
        --lines) lines="${2:-}"; shift 2 ;;
        *) die "$EXIT_USAGE" "usage: scripts/logs.sh [--follow SECONDS] [--lines N]" ;;
    esac
done
[[ "$follow_s" =~ ^[0-9]+$ && "$lines" =~ ^[0-9]+$ ]] ||
    die "$EXIT_USAGE" "--follow and --lines take whole numbers"

job_id="$(latest_job_id)" || die "$EXIT_NONE" "nothing submitted yet: 'make submit' starts a run"
log="$(coordinator_log "$job_id")"
[[ -f "$log" ]] || die "$EXIT_NONE" "coordinator job $job_id has not written its log yet ($log)"

echo "==> $log <=="
if [[ "$follow_s" -gt 0 ]]; then
    timeout "$follow_s" tail -n "$lines" -F "$log" || true
else
    tail -n "$lines" "$log"
fi
