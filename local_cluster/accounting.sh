# Accounting mode of the local cluster: MariaDB, slurmdbd and the registered
# account. Sourced by local_cluster/up.sh and down.sh after common.sh.
# shellcheck shell=bash

SLURMDBD_CONF_PATH=/etc/slurm/slurmdbd.conf
ACCOUNT=lab1
DB_NAME=slurm_acct_db
DB_USER=slurm

install_accounting_packages() {
    command -v mysqld_safe >/dev/null && command -v slurmdbd >/dev/null && return 0
    echo "local SLURM cluster: installing Debian's mariadb-server and slurmdbd"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq mariadb-server slurmdbd >/dev/null 2>&1 || {
        apt-get update -qq
        apt-get install -y -qq mariadb-server slurmdbd >/dev/null
    }
}

mariadb_answers() {
    timeout 5 mysqladmin --silent ping >/dev/null 2>&1
}

# apt does not start services here (policy-rc.d) and there is no systemd.
start_mariadb() {
    mariadb_answers && return 0
    mkdir -p /run/mysqld /var/log/mysql
    chown mysql:mysql /run/mysqld /var/log/mysql
    # Its own session, so that it outlives the shell that started it.
    setsid mysqld_safe --skip-syslog --log-error=/var/log/mysql/error.log </dev/null >/dev/null 2>&1 &
    record_started mariadb
    wait_until 30 mariadb_answers || {
        echo "local_cluster/up.sh: MariaDB did not answer within 30 s; see /var/log/mysql/error.log" >&2
        return 1
    }
}

# The database password: the one already in slurmdbd.conf, or a new random one.
storage_password() {
    local existing
    existing="$(sed -n 's/^StoragePass=//p' "$SLURMDBD_CONF_PATH" 2>/dev/null || true)"
    if [[ -n "$existing" ]]; then
        echo "$existing"
    else
        od -An -N16 -tx1 /dev/urandom | tr -d ' \n'
    fi
}

# Database, its user and slurmdbd.conf (mode 600: it holds the password).
prepare_database() {
    local password="$1" here
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    if [[ -e "$SLURMDBD_CONF_PATH" ]] && ! grep -qF "$MARKER" "$SLURMDBD_CONF_PATH"; then
        echo "local_cluster/up.sh: $SLURMDBD_CONF_PATH belongs to another cluster; refusing to overwrite it" >&2
        return 2
    fi
    mysql --user=root <<SQL
CREATE DATABASE IF NOT EXISTS $DB_NAME;
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$password';
ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY '$password';
GRANT ALL ON $DB_NAME.* TO '$DB_USER'@'localhost';
SQL
    (
        umask 077
        sed -e "s/@LOCAL_CLUSTER_MARKER@/$MARKER/" -e "s/@STORAGE_PASS@/$password/" \
            "$here/slurmdbd.conf.in" >"$SLURMDBD_CONF_PATH.new"
    )
    chmod 600 "$SLURMDBD_CONF_PATH.new"
    if cmp -s "$SLURMDBD_CONF_PATH.new" "$SLURMDBD_CONF_PATH"; then
        rm -f "$SLURMDBD_CONF_PATH.new"
    else
        mv "$SLURMDBD_CONF_PATH.new" "$SLURMDBD_CONF_PATH"
        stop_daemon slurmdbd
    fi
}

slurmdbd_listens() {
    (exec 3<>/dev/tcp/127.0.0.1/6819) 2>/dev/null
}

start_slurmdbd() {
    start_daemon slurmdbd
    wait_until 30 slurmdbd_listens || {
        echo "local_cluster/up.sh: slurmdbd did not listen on port 6819 within 30 s; see /var/log/slurm/slurmdbd.log" >&2
        return 1
    }
}

# Users who get the account: root, and whoever called sudo.
account_users() {
    echo root
    if [[ -n "${SUDO_USER:-}" && "$SUDO_USER" != root ]]; then
        echo "$SUDO_USER"
    fi
}

cluster_registered() {
    [[ -n "$(timeout 5 sacctmgr --noheader show cluster format=cluster 2>/dev/null)" ]]
}

accounts_registered() {
    local user
    for user in $(account_users); do
        [[ "$(timeout 5 sacctmgr --noheader --parsable2 show associations "user=$user" "account=$ACCOUNT" \
            format=account 2>/dev/null | head -n 1)" == "$ACCOUNT" ]] || return 1
    done
}

# The cluster registers itself when slurmctld first reaches slurmdbd; then the
# account and its users, each user's default account being it.
register_accounts() {
    local user
    wait_until 30 cluster_registered || {
        echo "local_cluster/up.sh: slurmctld did not register the cluster with slurmdbd within 30 s" >&2
        return 1
    }
    accounts_registered && return 0
    timeout 10 sacctmgr -i add account "$ACCOUNT" Description="local test account" Organization=local >/dev/null
    for user in $(account_users); do
        timeout 10 sacctmgr -i add user "$user" Account="$ACCOUNT" DefaultAccount="$ACCOUNT" >/dev/null || true
        timeout 10 sacctmgr -i modify user "$user" set DefaultAccount="$ACCOUNT" >/dev/null || true
    done
    accounts_registered || {
        echo "local_cluster/up.sh: sacctmgr did not register account $ACCOUNT" >&2
        return 1
    }
}

association_known() {
    timeout 5 sbatch --test-only --account="$ACCOUNT" --wrap=true >/dev/null 2>&1
}

# Jobs can be submitted under the account once slurmctld knows the association.
wait_for_association() {
    wait_until 30 association_known || {
        echo "local_cluster/up.sh: slurmctld does not accept jobs under account $ACCOUNT after 30 s" >&2
        return 1
    }
}

# slurmdbd and MariaDB, if this script started them.
stop_accounting() {
    local name
    for name in slurmdbd mariadb; do
        grep -qx "$name" "$STARTED_FILE" 2>/dev/null || continue
        stop_daemon "$name" || return 1
        echo "local SLURM cluster: stopped $name"
        sed -i "/^$name\$/d" "$STARTED_FILE"
    done
}
