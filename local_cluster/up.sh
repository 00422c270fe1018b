#!/usr/bin/env bash
# Start a single-node SLURM cluster on this machine (munged, slurmctld, slurmd;
# with --accounting also MariaDB and slurmdbd, account lab1 registered) for the
# template's demo and tests. Idempotent: a cluster that answers with this
# script's configuration is left as it is; one of ours in another mode or with
# an older configuration is restarted; a real cluster is never touched.
#
# Usage: local_cluster/up.sh [--if-possible] [--accounting | --no-accounting]
#   --accounting / --no-accounting: the mode; without either, the mode of the
#     cluster already set up here, or no accounting.
#   --if-possible: without root and without a cluster, say so and exit 0
#     (make test then skips the SLURM tests instead of failing).
# Exit codes: 0 cluster up (or not possible, with --if-possible); 1 it did not
# come up; 2 bad usage, not root, or a configuration that this script did not
# write is in the way.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=local_cluster/common.sh
source "$here/common.sh"
# shellcheck source=local_cluster/accounting.sh
source "$here/accounting.sh"

usage="usage: local_cluster/up.sh [--if-possible] [--accounting | --no-accounting]"
if_possible=0
mode=""
for arg in "$@"; do
    case "$arg" in
        --if-possible) if_possible=1 ;;
        --accounting) mode=accounting ;;
        --no-accounting) mode=none ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
done
[[ -n "$mode" ]] || mode="$(conf_mode)"
started_at=$SECONDS

describe() {
    local what="partitions debug and long"
    [[ "$mode" == accounting ]] && what+=", accounting with account $ACCOUNT"
    echo "$(sinfo -h -N -o '%c CPU slots, %m MB' | head -n 1), $what"
}

wanted="$(render_conf "$mode")"
if cluster_answers; then
    # A cluster answering without our file (its own slurm.conf, a configless
    # node, SLURM_CONF elsewhere) is a real one.
    if ! grep -qsF "$MARKER" "$SLURM_CONF_PATH" \
        || [[ -n "${SLURM_CONF:-}" && "$SLURM_CONF" != "$SLURM_CONF_PATH" ]]; then
        echo "local SLURM cluster: a cluster not managed here already answers; leaving it as it is"
        exit 0
    fi
    if node_ready && [[ "$wanted" == "$(cat "$SLURM_CONF_PATH" 2>/dev/null)" ]] \
        && { [[ "$mode" == none ]] || accounts_registered; }; then
        echo "local SLURM cluster: already up ($(node_state); $(describe))"
        exit 0
    fi
fi

if [[ "$(id -u)" -ne 0 ]]; then
    if [[ "$if_possible" -eq 1 ]]; then
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
    wanted="$(render_conf "$mode")"
fi

if [[ -e "$SLURM_CONF_PATH" ]] && ! grep -qF "$MARKER" "$SLURM_CONF_PATH"; then
    echo "local_cluster/up.sh: $SLURM_CONF_PATH belongs to another cluster; refusing to overwrite it" >&2
    exit 2
fi

mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm "$STATE_DIR"
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    mkdir -p /run/munge
    munged --force 2>/dev/null
    record_started munged
fi

if [[ "$mode" == accounting ]]; then
    install_accounting_packages
    start_mariadb
    prepare_database "$(storage_password)"
    start_slurmdbd
fi

if [[ "$wanted" != "$(cat "$SLURM_CONF_PATH" 2>/dev/null)" ]]; then
    printf '%s\n' "$wanted" >"$SLURM_CONF_PATH.new"
    mv "$SLURM_CONF_PATH.new" "$SLURM_CONF_PATH"
    # Daemons of ours still running read the old file: restart them.
    for name in slurmd slurmctld; do
        if pid_alive "$(pidfile_of "$name")" "$name" && grep -qx "$name" "$STARTED_FILE" 2>/dev/null; then
            echo "local SLURM cluster: configuration changed, restarting $name"
            stop_daemon "$name"
        fi
    done
fi
start_daemon slurmctld
start_daemon slurmd

host="$(hostname -s)"
for _ in $(seq 1 60); do
    if cluster_answers && node_ready; then
        if [[ "$mode" == accounting ]]; then
            register_accounts
            wait_for_association
        else
            stop_accounting
        fi
        echo "local SLURM cluster: up on $host ($(describe)) in $((SECONDS - started_at)) s"
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
