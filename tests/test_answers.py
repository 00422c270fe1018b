"""Every answer is checked before a file is written: bad ones are refused with one
line naming the field, the value, what is accepted and an example; nothing is left
behind and nothing an answer carries is ever executed. Good but unusual answers
render exactly the values SLURM and Snakemake expect."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from support import TEMPLATE_DIR, project_env

MARKER = "/tmp/template-injection-marker"

# (field, bad value). MARKER in a value is the file an injection would create.
BAD_ANSWERS = [
    ("project_slug", "1st-project"),
    ("project_slug", "my project"),
    ("project_slug", "../escape"),
    ("project_slug", "x" * 65),
    ("project_name", "two\nlines"),
    ("project_name", ""),
    ("author", "tab\there"),
    ("description", "d" * 201),
    ("slurm_partition", "debug partition"),
    ("slurm_partition", "cpu, gpu"),
    ("slurm_partition", ""),
    ("slurm_partition", "cpu,,gpu"),
    ("coordinator_partition", "long/short"),
    ("slurm_account", "lab 1"),
    ("default_mem_mb", "4 gigs"),
    ("default_mem_mb", "0"),
    ("default_mem_mb", "-4G"),
    ("default_mem_mb", "4K"),
    ("default_mem_mb", "4Q"),
    ("default_mem_mb", "20T"),
    ("coordinator_mem_per_cpu_mb", "lots"),
    ("default_mem_mb", "1.5"),
    ("coordinator_mem_per_cpu_mb", "3999.5M"),
    ("default_runtime", "0"),
    ("default_runtime", "soon"),
    ("default_runtime", "25:99:00"),
    ("default_runtime", "1-25"),
    ("default_runtime", "-5m"),
    ("default_runtime", "2w"),
    ("default_runtime", "400d"),
    ("default_runtime", "90m\u0131n"),  # a dotless i, which case-insensitive matching took for 'i'
    ("coordinator_time", "2m\u0130n"),
    ("coordinator_time", "0:00"),
    ("latency_wait", "-5"),
    ("latency_wait", "1.5"),
    ("latency_wait", "601"),
    ("latency_wait", "sixty"),
    ("max_jobs", "0"),
    ("max_jobs", "10001"),
    ("max_jobs", "many"),
    ("apptainer_bind", "relative/path"),
    ("apptainer_bind", "/data:/ref:rx"),
    ("apptainer_bind", "/a /b"),
    ("apptainer_image", "ubuntu:22.04"),
    ("apptainer_image", "http://example.org/tool.sif"),
    # Digits that are not ASCII, and numbers too large for a float.
    ("latency_wait", "²"),
    ("max_jobs", "①"),
    ("default_mem_mb", "٣G"),
    ("default_mem_mb", "9" * 400),
    ("coordinator_time", "9" * 400 + "m"),
    # Injection attempts: shell, command substitution, YAML structure.
    ("slurm_partition", f"debug; touch {MARKER}"),
    ("slurm_partition", f"debug && touch {MARKER}"),
    ("slurm_partition", "debug\nexecutor: local"),
    ("slurm_account", f"$(touch {MARKER})"),
    ("slurm_account", f"`touch {MARKER}`"),
    ("slurm_account", 'lab1"\nslurm-no-account: true'),
    ("default_mem_mb", f"4G; touch {MARKER}"),
    ("coordinator_time", f"1-00:00:00 | touch {MARKER}"),
    ("max_jobs", f"5 > {MARKER}"),
    ("apptainer_bind", f"/data,$(touch {MARKER})"),
    ("apptainer_image", f"docker://ubuntu;touch {MARKER}"),
    # (No '/' in a slug here: cookiecutter creates the directory path before any hook runs.)
    ("project_slug", "p$(id)"),
    ("project_slug", "p`id`"),
    ("latency_wait", f"60 & touch {MARKER}"),
]


# Choice answers are refused by cookiecutter itself, before any hook runs.
BAD_CHOICES = [
    ("status_command", "slurm"),
    ("use_apptainer", "true"),
    ("status_command", f"squeue; touch {MARKER}"),
]


def cookiecutter(output_dir: Path, answers: dict[str, str], offline: bool = True, timeout: float = 60):
    env = project_env()
    if offline:
        env["SLURM_TEMPLATE_OFFLINE"] = "1"
    else:
        env.pop("SLURM_TEMPLATE_OFFLINE", None)
    args = [sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", str(output_dir), str(TEMPLATE_DIR)]
    args += [f"{key}={value}" for key, value in answers.items()]
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env, cwd=output_dir)


@pytest.fixture
def marker():
    path = Path(MARKER)
    path.unlink(missing_ok=True)
    yield path
    assert not path.exists(), "an answer was executed"


def test_the_corpus_is_big_enough():
    assert len(BAD_ANSWERS) >= 40
    assert sum(MARKER in value or "\n" in value for _, value in BAD_ANSWERS) >= 10


@pytest.mark.parametrize(("field", "value"), BAD_ANSWERS, ids=[f"{f}={v!r}" for f, v in BAD_ANSWERS])
def test_bad_answer_is_refused_with_a_clear_line(tmp_path, marker, field, value):
    done = cookiecutter(tmp_path, {field: value})
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR ")]
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith(f"ERROR {field}: {value!r} ")
    assert ". Accepted: " in errors[0] and ". Example: " in errors[0]
    assert "Nothing was generated." in done.stderr
    assert list(tmp_path.iterdir()) == [], "generation left files behind"


@pytest.mark.parametrize(("field", "value"), BAD_CHOICES, ids=[f"{f}={v!r}" for f, v in BAD_CHOICES])
def test_bad_choice_is_refused_by_cookiecutter(tmp_path, marker, field, value):
    done = cookiecutter(tmp_path, {field: value})
    assert done.returncode != 0
    assert f"{value} provided for choice variable {field}, but the choices are" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_slug_made_from_the_name_says_where_it_came_from(tmp_path):
    done = cookiecutter(tmp_path, {"project_name": "2024 Alu study"})
    assert done.returncode != 0
    assert ("ERROR project_slug: '2024_alu_study' is not a safe directory name. Accepted: a letter, then up to 63 "
            "letters, digits, '_' or '-'. Example: project_2024_alu_study (made from project_name "
            "'2024 Alu study': answer project_slug yourself, or start the name with a letter)") in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_fractional_number_of_megabytes_suggests_a_unit(tmp_path):
    done = cookiecutter(tmp_path, {"default_mem_mb": "1.5"})
    assert ("ERROR default_mem_mb: '1.5' is not a whole number of megabytes. Accepted: whole megabytes, or a "
            "number with unit G, GB, T or TB (1G = 1024M), up to 16T. Example: 1536M or 1.5G") in done.stderr


def test_several_bad_answers_are_all_reported_at_once(tmp_path):
    done = cookiecutter(tmp_path, {"default_mem_mb": "4 gigs", "latency_wait": "-1", "max_jobs": "0"})
    fields = [line.split(":")[0] for line in done.stderr.splitlines() if line.startswith("ERROR ")]
    assert fields == ["ERROR default_mem_mb", "ERROR latency_wait", "ERROR max_jobs"]


def test_a_template_expression_in_an_answer_runs_nothing(tmp_path, marker):
    # Cookiecutter renders command-line answers as Jinja; the sandbox stops this.
    done = cookiecutter(tmp_path, {"author": f"{{{{ cycler.__init__.__globals__.os.system('touch {MARKER}') }}}}"})
    assert done.returncode != 0
    assert "SecurityError" in done.stderr and "unsafe" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_answer_cannot_rewrite_other_answers_or_settings(tmp_path, marker):
    done = cookiecutter(tmp_path, {"description": '{{ cookiecutter.update({"_new_lines": "\\r\\n"}) or "x" }}'})
    assert done.returncode != 0
    assert "SecurityError: access to attribute 'update'" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_free_text_with_quotes_and_shell_characters_lands_only_in_markdown(tmp_path, marker):
    name = f"L1 scan'; touch {MARKER}; echo \"$(id)\" <b>&"
    done = cookiecutter(tmp_path, {"project_name": name, "project_slug": "l1_scan", "author": "O'Brien"})
    assert done.returncode == 0, done.stderr
    project = tmp_path / "l1_scan"
    assert f"# {name}\n" in (project / "README.md").read_text()
    hits = [p.name for p in project.rglob("*") if p.is_file() and p.suffix != ".md" and name in p.read_text()]
    assert hits == []


def render(tmp_path: Path, **answers: str) -> tuple[dict, dict, subprocess.CompletedProcess]:
    done = cookiecutter(tmp_path, answers)
    assert done.returncode == 0, done.stderr
    project = next(tmp_path.iterdir())
    profile = yaml.safe_load((project / "profiles/slurm/config.yaml").read_text())
    # Read the coordinator settings the way submit_snakemake.sh does: one value a line, in a fixed order.
    shell = subprocess.run([sys.executable, str(project / "scripts/coordinator_settings.py")],
                           capture_output=True, text=True, check=True)
    names = ("COORDINATOR_PARTITION", "COORDINATOR_ACCOUNT", "COORDINATOR_TIME", "COORDINATOR_MEM_PER_CPU_MB",
             "COORDINATOR_WALLTIME_WARNING_S")
    coordinator = dict(zip(names, shell.stdout.split("\n")))
    return profile, coordinator, done


@pytest.mark.parametrize(
    ("answers", "resources", "coordinator"),
    [
        ({"slurm_partition": "gpu-a100"}, {"slurm_partition": "gpu-a100"}, {"COORDINATOR_PARTITION": "gpu-a100"}),
        ({"slurm_partition": "cpu_long,cpu_short", "coordinator_partition": "cpu.long"},
         {"slurm_partition": "cpu_long,cpu_short"}, {"COORDINATOR_PARTITION": "cpu.long"}),
        ({"default_mem_mb": "0.5G", "coordinator_mem_per_cpu_mb": "4GB"}, {"mem_mb": 512},
         {"COORDINATOR_MEM_PER_CPU_MB": "4096"}),
        ({"default_mem_mb": "4000M", "coordinator_mem_per_cpu_mb": "1T"}, {"mem_mb": 4000},
         {"COORDINATOR_MEM_PER_CPU_MB": "1048576"}),
        ({"default_runtime": "90"}, {"runtime": "90m"}, {}),
        ({"default_runtime": "2h"}, {"runtime": "120m"}, {}),
        ({"default_runtime": "1.5h"}, {"runtime": "90m"}, {}),
        ({"default_runtime": "1:30"}, {"runtime": "2m"}, {}),
        ({"default_runtime": "02:00:00"}, {"runtime": "120m"}, {}),
        ({"default_runtime": "1-12"}, {"runtime": "2160m"}, {}),
        ({"default_runtime": "1d"}, {"runtime": "1440m"}, {}),
        # Exact arithmetic: 4.15 h is 249 minutes, 1.1 days 1584 (floats would round both up).
        ({"default_runtime": "4.15h", "coordinator_time": "1.1d"}, {"runtime": "249m"},
         {"COORDINATOR_TIME": "1-02:24:00"}),
        ({"coordinator_time": "1-12:00:00"}, {},
         {"COORDINATOR_TIME": "1-12:00:00", "COORDINATOR_WALLTIME_WARNING_S": "600"}),
        ({"coordinator_time": "30"}, {},
         {"COORDINATOR_TIME": "0-00:30:00", "COORDINATOR_WALLTIME_WARNING_S": "180"}),
        ({"coordinator_time": "2-00:00"}, {}, {"COORDINATOR_TIME": "2-00:00:00"}),
        ({"slurm_account": "lab_1.x"}, {"slurm_account": "lab_1.x"}, {"COORDINATOR_ACCOUNT": "lab_1.x"}),
    ],
)
def test_unusual_but_good_answers_render_exact_values(tmp_path, answers, resources, coordinator):
    profile, settings, _ = render(tmp_path, **answers)
    for key, value in resources.items():
        assert profile["default-resources"][key] == value
    for key, value in coordinator.items():
        assert settings[key] == value


def test_latency_wait_above_120_is_accepted_with_a_warning(tmp_path):
    profile, _, done = render(tmp_path, latency_wait="360")
    assert profile["latency-wait"] == 360
    assert "WARNING latency_wait: 360 s delays the report of every job whose outputs are missing" in done.stderr


def test_leading_zeros_stay_decimal(tmp_path):
    profile, _, _ = render(tmp_path, latency_wait="010", max_jobs="0100")
    assert (profile["latency-wait"], profile["jobs"]) == (10, 100)


def test_apptainer_answers_render_into_the_profile(tmp_path):
    profile, _, _ = render(tmp_path, use_apptainer="yes", apptainer_image="/images/tool.sif",
                           apptainer_bind="/scratch,/data/ref:/ref:ro")
    assert profile["apptainer-args"] == "--bind /scratch,/data/ref:/ref:ro"
    project = next(tmp_path.iterdir())
    assert '"/images/tool.sif"' in (project / "workflow/rules/repeats.smk").read_text()


def test_the_rules_module_is_the_one_the_generated_project_ships(tmp_path):
    render(tmp_path)
    project = next(tmp_path.iterdir())
    shipped = (project / "scripts" / "answers.py").read_text()
    assert shipped == (TEMPLATE_DIR / "{{cookiecutter.project_slug}}" / "scripts" / "answers.py").read_text()
    assert not (TEMPLATE_DIR / "scripts").exists(), "a second copy of the rules at the template root"


def test_decisions_about_a_cluster(tmp_path):
    """The live-check rules, given what a cluster reported (real clusters below)."""
    sys.path.insert(0, str(TEMPLATE_DIR / "{{cookiecutter.project_slug}}" / "scripts"))
    try:
        from cluster_facts import ClusterFacts, check_against_cluster, resolve_status_command
    finally:
        sys.path.pop(0)
    answers = {"slurm_partition": "debug", "coordinator_partition": "debug", "slurm_account": "lab1",
               "status_command": "auto"}
    with_accounting = ClusterFacts(reachable=True, partitions=["debug"], accounting=True,
                                   min_job_age_s=300, accounts=["lab1", "lab2"])
    assert check_against_cluster(answers, with_accounting) == ([], [])
    assert resolve_status_command("auto", with_accounting) == "sacct"
    errors, _ = check_against_cluster({**answers, "slurm_account": "nosuch"}, with_accounting)
    assert errors == ["slurm_account: 'nosuch' is not an account of user "
                      f"{json.loads(json.dumps(__import__('getpass').getuser()))} on this cluster. "
                      "Accepted: lab1, lab2, or empty for the default. Example: lab1"]
    short_age = ClusterFacts(reachable=True, partitions=["debug"], accounting=False, min_job_age_s=60)
    errors, warnings = check_against_cluster({**answers, "slurm_account": ""}, short_age)
    assert errors == [] and "MinJobAge=60 s" in warnings[0]


def test_refused_answers_are_corrected_in_the_replay_file(tmp_path):
    """Typing every answer again is not needed: cookiecutter saved them before the check."""
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"replay_dir": str(tmp_path / "replay")}))
    env = {**project_env(), "SLURM_TEMPLATE_OFFLINE": "1"}
    base = [sys.executable, "-m", "cookiecutter", "--config-file", str(config), "--output-dir", str(tmp_path / "out")]
    done = subprocess.run([*base, "--no-input", str(TEMPLATE_DIR), "default_mem_mb=4 gigs", "latency_wait=30"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode != 0
    replay = f"~/.cookiecutter_replay/{TEMPLATE_DIR.name}.json"
    assert (f"or correct them in its replay file ({replay} by default) and run: cookiecutter --replay-file "
            f"{replay} TEMPLATE") in done.stderr
    replay_file = tmp_path / "replay" / f"{TEMPLATE_DIR.name}.json"
    saved = json.loads(replay_file.read_text())
    assert saved["cookiecutter"]["default_mem_mb"] == "4 gigs"
    saved["cookiecutter"]["default_mem_mb"] = "4G"
    replay_file.write_text(json.dumps(saved))

    done = subprocess.run([*base, "--replay-file", str(replay_file), str(TEMPLATE_DIR)],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    profile = yaml.safe_load((tmp_path / "out/repeat_family_analysis/profiles/slurm/config.yaml").read_text())
    assert (profile["default-resources"]["mem_mb"], profile["latency-wait"]) == (4096, 30)
