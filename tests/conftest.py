"""Fixtures shared by the template's tests: baking, the local SLURM cluster, data.

SLURM tests are marked `slurm`. Without a cluster they are skipped, except when
REQUIRE_SLURM=1 (CI): then a missing cluster fails them, and any skipped test
fails the session.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from support import cluster_answers

REQUIRE_SLURM = os.environ.get("REQUIRE_SLURM") == "1"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

_cluster_ok: bool | None = None


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

    def _bake(live: bool = False, **answers) -> Path:
        if live:
            monkeypatch.delenv("SLURM_TEMPLATE_OFFLINE", raising=False)
        else:
            monkeypatch.setenv("SLURM_TEMPLATE_OFFLINE", "1")
        result = cookies.bake(extra_context=answers)
        assert result.exception is None, f"baking failed: {result.exception!r}"
        assert result.exit_code == 0
        return Path(result.project_path)

    return _bake


@pytest.fixture
def git_init():
    def _init(path: Path) -> None:
        subprocess.run(["git", "init", "-q", str(path)], check=True)

    return _init
