# Shared by local_cluster/up.sh and local_cluster/down.sh (sourced, not run).
# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables are used by the scripts that source this file

SLURM_CONF_PATH=/etc/slurm/slurm.conf
MARKER="managed-by: snakemake-slurm-template local_cluster"
# Names of the daemons this script started, one per line, so that down.sh
# stops those and nothing that was running before.
STATE_DIR=/run/local_cluster
STARTED_FILE="$STATE_DIR/started"

cluster_answers() {
    timeout 5 sinfo -h >/dev/null 2>&1
}

node_state() {
    timeout 5 sinfo -h -N -o '%t' 2>/dev/null | head -n 1 || true
}

node_ready() {
    case "$(node_state)" in
        idle* | mix* | alloc*) return 0 ;;
        *) return 1 ;;
    esac
}

pid_alive() {
    local pidfile="$1"
    [[ -s "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

record_started() {
    mkdir -p "$STATE_DIR"
    grep -qx "$1" "$STARTED_FILE" 2>/dev/null || echo "$1" >>"$STARTED_FILE"
}

start_daemon() {
    local name="$1" pidfile="$2"
    pid_alive "$pidfile" && return 0
    "/usr/sbin/$name"
    record_started "$name"
}
