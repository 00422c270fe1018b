#!/usr/bin/env bash
# Stop the daemons that local_cluster/up.sh started (SLURM, munge, and in
# accounting mode slurmdbd and MariaDB), by pid; leave anything that was
# already running before it alone.
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

status=0
# Clients before the services they report to: slurmctld needs slurmdbd, which
# needs MariaDB, and all of them need munged to shut down cleanly.
for name in slurmd slurmctld slurmdbd mariadb munged; do
    grep -qx "$name" "$STARTED_FILE" || continue
    if stop_daemon "$name"; then
        echo "local SLURM cluster: stopped $name"
        sed -i "/^$name\$/d" "$STARTED_FILE"
    else
        status=1
    fi
done
exit "$status"
