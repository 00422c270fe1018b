#!/usr/bin/env bash
# Stop the daemons that local_cluster/up.sh started, by pid; leave anything
# that was already running before it alone.
#
# Usage: local_cluster/down.sh
# Exit codes: 0 stopped (or nothing to stop); 1 a daemon did not stop within 20 s.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=local_cluster/common.sh
source "$here/common.sh"

if [[ ! -s "$STARTED_FILE" ]]; then
    echo "local SLURM cluster: nothing started by local_cluster/up.sh is running"
    exit 0
fi

pidfile_of() {
    case "$1" in
        slurmctld) echo /run/slurmctld.pid ;;
        slurmd) echo /run/slurmd.pid ;;
        munged) echo /run/munge/munged.pid ;;
    esac
}

status=0
# slurmd and slurmctld before munged, which they need to shut down cleanly.
for name in slurmd slurmctld munged; do
    grep -qx "$name" "$STARTED_FILE" || continue
    pidfile="$(pidfile_of "$name")"
    if pid_alive "$pidfile"; then
        pid="$(cat "$pidfile")"
        kill -TERM "$pid"
        for _ in $(seq 1 40); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "local_cluster/down.sh: $name (pid $pid) did not stop within 20 s" >&2
            status=1
            continue
        fi
        echo "local SLURM cluster: stopped $name (pid $pid)"
    fi
    sed -i "/^$name\$/d" "$STARTED_FILE"
done
exit "$status"
