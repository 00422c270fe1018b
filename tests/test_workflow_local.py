"""The example workflow computes the right thing: run with the local profile
(`make local`) and compared with an independent computation (awk and sort)."""

from __future__ import annotations

import pytest

from support import expected_sorted_family, make, set_config


def test_example_data_gives_the_sorted_l1_elements(bake):
    project = bake()
    make(project, "local")
    result = (project / "results" / "example.sorted.bed").read_text()
    expected = expected_sorted_family(project / "resources" / "example_repeats.bed", "L1")
    assert result == expected
    lines = result.splitlines()
    assert lines[0].startswith("track ") and lines[1].startswith("#")
    assert all("L1" in line.split("\t")[3] for line in lines[2:])
    assert len(lines) == 2 + 20  # 18 L1* and 2 HAL1* elements in the example data
    assert not (project / "results" / "intermediate" / "example.selected.bed").exists()


@pytest.mark.parametrize(("pattern", "kept"), [("L1", 170), ("^L1", 163)])
def test_repeatmasker_slice(bake, shared_data, pattern, kept):
    # 163 names start with L1; HAL1 and HAL1b (7 more) are L1-family elements too.
    project = bake()
    rmsk = shared_data / "rmsk.hg18.chr21.small.bed"
    set_config(project, {"rmsk": str(rmsk)}, pattern)
    make(project, "local")
    result = (project / "results" / "rmsk.sorted.bed").read_text()
    assert len(result.splitlines()) == kept
    assert result == expected_sorted_family(rmsk, pattern)


def test_track_header_stays_on_top_and_every_interval_is_kept(bake, shared_data):
    project = bake()
    peaks = shared_data / "Cp190_Kc_Bushey_2009.bed"
    set_config(project, {"cp190": str(peaks)}, "")
    make(project, "local")
    lines = (project / "results" / "cp190.sorted.bed").read_text().splitlines()
    assert lines[0] == peaks.read_text().splitlines()[0]
    assert lines[0].startswith("track ")
    assert len(lines) == len(peaks.read_text().splitlines())
    assert "\n".join(lines) + "\n" == expected_sorted_family(peaks, "")


def test_a_name_filter_on_a_bed_without_names_says_how_to_fix_it(bake, shared_data):
    project = bake()
    set_config(project, {"cp190": str(shared_data / "Cp190_Kc_Bushey_2009.bed")}, "L1")
    done = make(project, "local", check=False)
    assert done.returncode != 0
    log = (project / "logs" / "rules" / "select_family" / "cp190.log").read_text()
    assert "no name column (BED column 4)" in log
    assert 'set family_pattern: "" in config/config.yaml' in log


def test_a_bad_pattern_is_refused_before_anything_runs(bake):
    project = bake()
    set_config(project, {"example": "resources/example_repeats.bed"}, "L1(")
    done = make(project, "local", check=False)
    assert done.returncode != 0
    assert "family_pattern 'L1(' is not a regular expression" in done.stdout + done.stderr
    assert not (project / "results").exists()
