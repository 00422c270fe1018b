"""`make dag` draws the job graph; `make report` builds Snakemake's HTML report."""

from __future__ import annotations

import re

from support import make


def test_dag_and_report(bake):
    project = bake()
    dag = make(project, "dag").stdout.strip()
    assert dag == str(project / "results" / "dag.svg")
    svg = (project / "results" / "dag.svg").read_text()
    assert svg.lstrip().startswith(("<?xml", "<svg"))
    for rule in ("select_family", "sort_bed", "all"):
        assert rule in svg
    assert len(re.findall(r"<g id=\"node", svg)) == 3 and len(re.findall(r"<g id=\"edge", svg)) == 2

    make(project, "local")
    report = make(project, "report").stdout.strip()
    assert report == str(project / "results" / "report.html")
    html = (project / "results" / "report.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "select_family" in html and "sort_bed" in html
