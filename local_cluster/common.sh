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

# wait_until SECONDS COMMAND...: 0 as soon as COMMAND succeeds, 1 if it never did.
wait_until() {
    local tries=$(($1 * 2))
    shift
    for _ in $(seq 1 "$tries"); do
        "$@" && return 0
        sleep 0.5
    done
    return 1
}

pidfile_of() {
    case "$1" in
        slurmctld) echo /run/slurmctld.pid ;;
        slurmd) echo /run/slurmd.pid ;;
        munged) echo /run/munge/munged.pid ;;
        slurmdbd) echo /run/slurmdbd.pid ;;
        mariadb) echo /run/mysqld/mysqld.pid ;;
    esac
}

# The process names each daemon runs under (MariaDB's server is mariadbd or mysqld).
process_names_of() {
    case "$1" in
        mariadb) echo "mariadbd mysqld" ;;
        *) echo "$1" ;;
    esac
}

# Whether the pid in PIDFILE is alive and is DAEMON: a stale pid file whose pid
# now belongs to another process must never be taken for the daemon (or signalled).
pid_alive() {
    local pidfile="$1" name="$2" pid comm
    [[ -s "$pidfile" ]] || return 1
    pid="$(<"$pidfile")"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    comm="$(cat "/proc/$pid/comm" 2>/dev/null || true)"
    [[ " $(process_names_of "$name") " == *" $comm "* ]]
}

record_started() {
    mkdir -p "$STATE_DIR"
    grep -qx "$1" "$STARTED_FILE" 2>/dev/null || echo "$1" >>"$STARTED_FILE"
}

start_daemon() {
    local name="$1"
    pid_alive "$(pidfile_of "$name")" "$name" && return 0
    "/usr/sbin/$name"
    record_started "$name"
}

# Stop a daemon by the pid in its pid file; 1 if it is still there after 20 s.
stop_daemon() {
    local name="$1" pidfile pid
    pidfile="$(pidfile_of "$name")"
    pid_alive "$pidfile" "$name" || return 0
    pid="$(<"$pidfile")"
    kill -TERM "$pid"
    for _ in $(seq 1 40); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.5
    done
    echo "local_cluster: $name (pid $pid) did not stop within 20 s" >&2
    return 1
}

# The accounting mode of the slurm.conf this script wrote: accounting or none.
conf_mode() {
    if grep -qx "AccountingStorageType=accounting_storage/slurmdbd" "$SLURM_CONF_PATH" 2>/dev/null; then
        echo accounting
    else
        echo none
    fi
}

# The slurm.conf for this machine and mode (accounting or none), on stdout.
render_conf() {
    local mode="$1" here host cpus mem_mb accounting
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    host="$(hostname -s)"
    cpus="$(($(nproc) * 2))"
    mem_mb="$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)"
    if [[ "$mode" == accounting ]]; then
        # Jobs need an association (user and account), as on production clusters.
        accounting='AccountingStorageType=accounting_storage/slurmdbd\nAccountingStorageHost=localhost\nAccountingStoragePort=6819\nAccountingStorageEnforce=associations'
    else
        accounting='AccountingStorageType=accounting_storage/none'
    fi
    sed -e "s/@HOST@/$host/g" -e "s/@CPUS@/$cpus/" -e "s/@MEM_MB@/$mem_mb/" \
        -e "s/@LOCAL_CLUSTER_MARKER@/$MARKER/" -e "s|^@ACCOUNTING@\$|$accounting|" "$here/slurm.conf.in"
}
