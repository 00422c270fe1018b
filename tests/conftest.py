"""Fixtures shared by the template's tests: baking, the local SLURM cluster, data.

SLURM tests are marked `slurm`. Without a cluster they are skipped, except when
REQUIRE_SLURM=1 (CI): then a missing cluster fails them, and any skipped test
fails the session.

Tests marked `accounting` or `no_accounting` need the cluster in that mode (and
are SLURM tests); on a cluster in the other mode they are deselected and the
summary says how many. ACCOUNTING=1 or 0 (make test ACCOUNTING=...) states the
mode the cluster must be in; a cluster in the other mode stops the session.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from support import cancel_everything_of, cluster_accounting, cluster_answers, node_ready

REQUIRE_SLURM = os.environ.get("REQUIRE_SLURM") == "1"
EXPECTED_ACCOUNTING = {"1": True, "0": False}.get(os.environ.get("ACCOUNTING", ""))
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MODE_NAMES = {True: "with accounting", False: "without accounting"}

_cluster_ok: bool | None = None
_other_mode_deselected = 0


def pytest_collection_modifyitems(config, items):
    """Mode-marked tests are SLURM tests; those of the other mode are deselected."""
    global _other_mode_deselected
    for item in items:
        if item.get_closest_marker("accounting") or item.get_closest_marker("no_accounting"):
            item.add_marker(pytest.mark.slurm)
    accounting = cluster_accounting()
    if EXPECTED_ACCOUNTING is not None and accounting is not None and accounting != EXPECTED_ACCOUNTING:
        raise pytest.UsageError(
            f"ACCOUNTING={os.environ['ACCOUNTING']} but the cluster in reach runs {MODE_NAMES[accounting]}; "
            f"switch it with 'make slurm-up ACCOUNTING={os.environ['ACCOUNTING']}'"
        )
    if accounting is None:
        return
    other = "no_accounting" if accounting else "accounting"
    kept = [item for item in items if not item.get_closest_marker(other)]
    deselected = [item for item in items if item.get_closest_marker(other)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept
        _other_mode_deselected = len(deselected)


def pytest_report_header(config):
    accounting = cluster_accounting()
    if accounting is None:
        return "SLURM cluster: none answers"
    return f"SLURM cluster: answers, {MODE_NAMES[accounting]}"


def pytest_terminal_summary(terminalreporter):
    if _other_mode_deselected:
        accounting = cluster_accounting()
        terminalreporter.write_line(
            f"{_other_mode_deselected} test(s) deselected: they need the cluster {MODE_NAMES[not accounting]} "
            f"(make test ACCOUNTING={0 if accounting else 1})"
        )


def pytest_runtest_setup(item):
    global _cluster_ok
    if item.get_closest_marker("slurm") is None:
        return
    if _cluster_ok is None:
        _cluster_ok = cluster_answers()
    if not _cluster_ok:
        message = "no SLURM cluster answers (start the local one with 'make slurm-up')"
        if REQUIRE_SLURM:
            pytest.fail(message + " and REQUIRE_SLURM=1", pytrace=False)
        pytest.skip(message)


def pytest_sessionfinish(session, exitstatus):
    if not REQUIRE_SLURM:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and session.exitstatus == 0:
        reporter.write_line(f"REQUIRE_SLURM=1: {len(skipped)} test(s) were skipped; that counts as a failure", red=True)
        session.exitstatus = 1


@pytest.fixture
def accounting() -> bool:
    """Whether the cluster under test keeps accounts (for checks that differ by mode)."""
    mode = cluster_accounting()
    assert mode is not None, "no SLURM cluster answers"
    return mode


@pytest.fixture
def shared_data() -> Path:
    """The public BED files kept beside the checkout (../shared/data)."""
    assert SHARED_DATA.is_dir(), f"{SHARED_DATA} is missing: the tests expect ../shared/data beside the checkout"
    return SHARED_DATA


@pytest.fixture
def bake(cookies, monkeypatch):
    """bake(**answers) -> path of a generated project; fails the test if generation fails.

    Live cluster checks are off unless a test asks for them (live=True), so
    that a partition name of another cluster can be baked here.
    """

    baked: list[Path] = []

    def _bake(live: bool = False, **answers) -> Path:
        if live:
            monkeypatch.delenv("SLURM_TEMPLATE_OFFLINE", raising=False)
        else:
            monkeypatch.setenv("SLURM_TEMPLATE_OFFLINE", "1")
        result = cookies.bake(extra_context=answers)
        assert result.exception is None, f"baking failed: {result.exception!r}"
        assert result.exit_code == 0
        baked.append(Path(result.project_path))
        return baked[-1]

    yield _bake
    for project in baked:
        cancel_everything_of(project)


@pytest.fixture
def git_init():
    def _init(path: Path) -> None:
        subprocess.run(["git", "init", "-q", str(path)], check=True)

    return _init


@pytest.fixture
def slurmctld_stopped():
    """The local cluster's controller really stopped for the test, then started again."""
    pidfile = Path("/run/slurmctld.pid")
    assert pidfile.is_file(), "slurmctld of the local cluster (make slurm-up) is not running"
    pid = int(pidfile.read_text())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while _alive(pid):
        assert time.monotonic() < deadline, f"slurmctld (pid {pid}) did not stop"
        time.sleep(0.2)
    try:
        yield
    finally:
        subprocess.run(["/usr/sbin/slurmctld"], check=True)
        deadline = time.monotonic() + 60
        while not node_ready():
            assert time.monotonic() < deadline, "the local cluster did not come back after slurmctld restarted"
            time.sleep(0.5)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
