"""The local cluster's two modes: switching from accounting to none and back
(make slurm-up ACCOUNTING=0 / ACCOUNTING=1) stops and restarts slurmdbd and
MariaDB, and leaves a cluster that runs jobs in each mode."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from support import TEMPLATE_DIR, cluster_accounting

pytestmark = pytest.mark.accounting

STARTED_FILE = Path("/run/local_cluster/started")


def up(*flags: str) -> str:
    done = subprocess.run([str(TEMPLATE_DIR / "local_cluster/up.sh"), *flags],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def slurmdbd_listens() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6819), timeout=2).close()
    except OSError:
        return False
    return True


def sacct() -> subprocess.CompletedProcess:
    return subprocess.run(["sacct", "--noheader", "-X"], capture_output=True, text=True, timeout=10)


def test_switching_modes_both_ways():
    try:
        said = up("--no-accounting")
        assert "configuration changed, restarting slurmctld" in said
        assert "stopped slurmdbd" in said and "stopped mariadb" in said
        assert cluster_accounting() is False
        assert not slurmdbd_listens()
        assert "accounting storage is disabled" in sacct().stderr
        assert not {"slurmdbd", "mariadb"} & set(STARTED_FILE.read_text().split())
    finally:
        said = up("--accounting")
    assert "accounting with account lab1" in said
    assert cluster_accounting() is True
    assert slurmdbd_listens()
    assert sacct().returncode == 0
    assert {"slurmdbd", "mariadb"} <= set(STARTED_FILE.read_text().split())
    assert "already up" in up("--accounting")
