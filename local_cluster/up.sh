#!/usr/bin/env bash
# Start a single-node SLURM cluster on this machine (munged, slurmctld, slurmd)
# for the template's demo and tests. Idempotent: a cluster that answers with
# this script's configuration is left as it is; one of ours with an older
# configuration is restarted with the new one; a real cluster is never touched.
#
# Usage: local_cluster/up.sh [--if-possible]
#   --if-possible: without root and without a cluster, say so and exit 0
#   (make test then skips the SLURM tests instead of failing).
# Exit codes: 0 cluster up (or not possible, with --if-possible); 1 it did not
# come up; 2 not root, or a slurm.conf that this script did not write is in the way.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=local_cluster/common.sh
source "$here/common.sh"

wanted="$(render_conf)"
if cluster_answers && node_ready; then
    if [[ -f "$SLURM_CONF_PATH" ]] && ! grep -qF "$MARKER" "$SLURM_CONF_PATH"; then
        echo "local SLURM cluster: a cluster not managed here already answers; leaving it as it is"
        exit 0
    fi
    if [[ "$wanted" == "$(cat "$SLURM_CONF_PATH" 2>/dev/null)" ]]; then
        echo "local SLURM cluster: already up ($(node_state))"
        exit 0
    fi
fi

if [[ "$(id -u)" -ne 0 ]]; then
    if [[ "${1:-}" == "--if-possible" ]]; then
        echo "local SLURM cluster: not started (needs root); SLURM tests will be skipped"
        exit 0
    fi
    echo "local_cluster/up.sh: must run as root to install and start SLURM (try: sudo make slurm-up)" >&2
    exit 2
fi

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    echo "local SLURM cluster: installing Debian's slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq slurm-wlm munge >/dev/null
    wanted="$(render_conf)"
fi

if [[ -e "$SLURM_CONF_PATH" ]] && ! grep -qF "$MARKER" "$SLURM_CONF_PATH"; then
    echo "local_cluster/up.sh: $SLURM_CONF_PATH belongs to another cluster; refusing to overwrite it" >&2
    exit 2
fi

mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm "$STATE_DIR"
if [[ "$wanted" != "$(cat "$SLURM_CONF_PATH" 2>/dev/null)" ]]; then
    printf '%s\n' "$wanted" >"$SLURM_CONF_PATH.new"
    mv "$SLURM_CONF_PATH.new" "$SLURM_CONF_PATH"
    # Daemons of ours still running read the old file: restart them.
    for name in slurmd slurmctld; do
        if pid_alive "$(pidfile_of "$name")" && grep -qx "$name" "$STARTED_FILE" 2>/dev/null; then
            echo "local SLURM cluster: configuration changed, restarting $name"
            stop_daemon "$name"
        fi
    done
fi

if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    mkdir -p /run/munge
    munged --force 2>/dev/null
    record_started munged
fi
start_daemon slurmctld
start_daemon slurmd

host="$(hostname -s)"
for _ in $(seq 1 60); do
    if cluster_answers && node_ready; then
        echo "local SLURM cluster: up on $host ($(sinfo -h -N -o '%c CPU slots, %m MB' | head -n 1), partitions debug and long)"
        exit 0
    fi
    state="$(node_state)"
    if [[ "$state" == down* || "$state" == drain* ]]; then
        scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true
    fi
    sleep 0.5
done
echo "local_cluster/up.sh: the node did not become idle within 30 s (state: $(node_state)); see /var/log/slurm/" >&2
exit 1
