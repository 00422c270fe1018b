"""The rules every project answer must follow, and the forms each file needs.

One source of truth: the template's generation hooks and render filters load this
file, and the project's own doctor imports it, so a value is accepted or refused
with the same words everywhere.

Every refusal is one line naming the field, the bad value, what is accepted and
an example. Values that land in shell scripts or YAML are restricted to safe
characters; free text (names, descriptions) only lands in Markdown.

Standard library only: it runs under the Python that runs cookiecutter.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable


class AnswerError(ValueError):
    """A refused answer; str() is the one-line message shown to the user."""

    def __init__(self, field: str, value: object, problem: str, accepted: str, example: str):
        self.field = field
        self.value = value
        message = f"{field}: {value!r} {problem}. Accepted: {accepted}. Example: {example}"
        super().__init__(message)


@dataclass(frozen=True)
class Checked:
    """An accepted answer in its normalised form, with any warnings about it."""

    value: object
    warnings: tuple[str, ...] = ()


# --- names -----------------------------------------------------------------

SLUG_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
SLURM_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
CONTROL_CHARS_RE = re.compile(r"[\x00-\x1f\x7f]")
MAX_FREE_TEXT = 200


def check_free_text(field: str, value: str) -> Checked:
    """Names and descriptions: any printable text on one line."""
    if not isinstance(value, str) or CONTROL_CHARS_RE.search(value) or len(value) > MAX_FREE_TEXT:
        raise AnswerError(
            field, value, "is not printable text on one line",
            f"up to {MAX_FREE_TEXT} characters without newlines or control characters",
            "Repeat family analysis",
        )
    return Checked(value)


def check_project_name(field: str, value: str) -> Checked:
    """The project's name: free text, but not empty (the directory name is made from it)."""
    if isinstance(value, str) and not value.strip():
        raise AnswerError(
            field, value, "is empty",
            f"printable text on one line, not empty, up to {MAX_FREE_TEXT} characters",
            "Repeat family analysis",
        )
    return check_free_text(field, value)


def suggested_slug(value: object) -> str:
    """A safe name close to a refused one, for the example of its message."""
    kept = re.sub(r"[^A-Za-z0-9_-]+", "_", str(value)).strip("_-")
    if kept and not kept[0].isalpha():
        kept = f"project_{kept}"
    return kept[:64] if SLUG_RE.fullmatch(kept[:64]) else "repeat_families"


def slug_of_name(name: object) -> str:
    """The default slug cookiecutter makes from a project name (its own slugify where
    this Python has it, as at generation; else the same for plain ASCII names)."""
    try:
        from slugify import slugify
    except ImportError:
        return re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_")
    return slugify(str(name), separator="_")


def check_slug(field: str, value: str) -> Checked:
    if not isinstance(value, str) or not SLUG_RE.fullmatch(value):
        raise AnswerError(
            field, value, "is not a safe directory name",
            "a letter, then up to 63 letters, digits, '_' or '-'",
            suggested_slug(value),
        )
    return Checked(value)


def check_partitions(field: str, value: str) -> Checked:
    """One SLURM partition or a comma list of them (SLURM takes the first that fits)."""
    names = value.split(",") if isinstance(value, str) else [None]
    if not all(isinstance(n, str) and SLURM_NAME_RE.fullmatch(n) for n in names):
        raise AnswerError(
            field, value, "is not a SLURM partition name or comma list of them",
            "letters, digits, '_', '-' and '.', names separated by ',' without spaces",
            "debug or cpu_short,cpu_long",
        )
    return Checked(value)


def check_account(field: str, value: str) -> Checked:
    """One SLURM account, or empty for none."""
    if value == "":
        return Checked("")
    if not isinstance(value, str) or not SLURM_NAME_RE.fullmatch(value):
        raise AnswerError(
            field, value, "is not a SLURM account name",
            "empty (no account), or letters, digits, '_', '-' and '.'",
            "lab1",
        )
    return Checked(value)


# --- quantities --------------------------------------------------------------


MAX_DIGITS = 30


def _ceil_product(number: str, factor: int) -> int:
    """number * factor rounded up, computed exactly (4.15h is 249 minutes, not 250);
    a number too long to be meant counts as 0 (refused)."""
    if len(number) > MAX_DIGITS:
        return 0
    return math.ceil(Fraction(number) * factor)


MEMORY_RE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)")
# SLURM's own units: 1G = 1024M.
MEMORY_UNITS = {"": 1, "m": 1, "mb": 1, "g": 1024, "gb": 1024, "t": 1024**2, "tb": 1024**2}
MAX_MEMORY_MB = 16 * 1024**2


def parse_memory_mb(field: str, value: object) -> int:
    text = str(value).strip()
    match = MEMORY_RE.fullmatch(text)
    unit = match.group(2).lower() if match else None
    megabytes = _ceil_product(match.group(1), MEMORY_UNITS[unit]) if match and unit in MEMORY_UNITS else 0
    if match and unit in MEMORY_UNITS and MEMORY_UNITS[unit] == 1 and "." in match.group(1):
        # '1.5' is far more likely meant as 1.5G than as 2 MB; SLURM takes whole megabytes.
        raise AnswerError(
            field, value, "is not a whole number of megabytes",
            "whole megabytes, or a number with unit G, GB, T or TB (1G = 1024M), up to 16T",
            f"{_ceil_product(match.group(1), 1024)}M or {match.group(1)}G" if not unit
            else f"{_ceil_product(match.group(1), 1)}M",
        )
    if not 1 <= megabytes <= MAX_MEMORY_MB:
        raise AnswerError(
            field, value, "is not a memory size",
            "a positive number of megabytes, or a number with unit M, MB, G, GB, T or TB (1G = 1024M), up to 16T",
            "4000, 4000M, 4G or 0.5G",
        )
    return megabytes


def check_memory(field: str, value: object) -> Checked:
    return Checked(parse_memory_mb(field, value))


# ASCII: with IGNORECASE alone, the Turkish dotless i would match 'i' in "min".
DURATION_UNIT_RE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(m|min|h|d)?", re.IGNORECASE | re.ASCII)
MINUTES_PER_UNIT = {None: 1, "m": 1, "min": 1, "h": 60, "d": 24 * 60}
SLURM_TIME_RE = re.compile(
    r"(?:(?P<days>[0-9]+)-(?P<dh>[0-9]{1,2})(?::(?P<dm>[0-9]{1,2})(?::(?P<ds>[0-9]{1,2}))?)?)"
    r"|(?:(?P<h>[0-9]+):(?P<m>[0-9]{1,2}):(?P<s>[0-9]{1,2}))"
    r"|(?:(?P<mm>[0-9]+):(?P<ss>[0-9]{1,2}))"
)
MAX_MINUTES = 365 * 24 * 60


def _slurm_form_seconds(match: re.Match) -> int | None:
    g = {k: int(v) if v is not None else 0 for k, v in match.groupdict().items()}
    if match.group("days") is not None:
        if g["dh"] > 23 or g["dm"] > 59 or g["ds"] > 59:
            return None
        return ((g["days"] * 24 + g["dh"]) * 60 + g["dm"]) * 60 + g["ds"]
    if match.group("h") is not None:
        if g["m"] > 59 or g["s"] > 59:
            return None
        return (g["h"] * 60 + g["m"]) * 60 + g["s"]
    if g["ss"] > 59:
        return None
    return g["mm"] * 60 + g["ss"]


def parse_minutes(field: str, value: object) -> int:
    """A duration as whole minutes (rounded up), from the forms people and SLURM use."""
    text = str(value).strip()
    minutes = 0
    unit_match = DURATION_UNIT_RE.fullmatch(text)
    slurm_match = SLURM_TIME_RE.fullmatch(text)
    if unit_match:
        unit = unit_match.group(2).lower() if unit_match.group(2) else None
        minutes = _ceil_product(unit_match.group(1), MINUTES_PER_UNIT[unit])
    elif slurm_match:
        seconds = _slurm_form_seconds(slurm_match)
        minutes = math.ceil(seconds / 60) if seconds is not None else 0
    if not 1 <= minutes <= MAX_MINUTES:
        raise AnswerError(
            field, value, "is not a time limit",
            "minutes (90 or 90m), hours (2h), days (1d), or SLURM's MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS; "
            "above zero and at most 365 days",
            "60m, 2h or 1-12:00:00",
        )
    return minutes


def check_duration(field: str, value: object) -> Checked:
    return Checked(parse_minutes(field, value))


def slurm_time(minutes: int) -> str:
    """sbatch --time form: D-HH:MM:SS."""
    days, rest = divmod(int(minutes), 24 * 60)
    hours, mins = divmod(rest, 60)
    return f"{days}-{hours:02d}:{mins:02d}:00"


def snakemake_runtime(minutes: int) -> str:
    """Snakemake's runtime resource, always with an explicit unit."""
    return f"{int(minutes)}m"


def walltime_warning_seconds(minutes: int) -> int:
    """How long before its time limit the coordinator is told to stop.

    A tenth of the limit, between one and ten minutes: enough for Snakemake to
    cancel its jobs and release the lock (SLURM may send the signal up to a
    minute early).
    """
    return max(60, min(600, int(minutes) * 6))


WHOLE_NUMBER_RE = re.compile(r"[0-9]{1,9}")

LATENCY_WAIT_WARN_ABOVE = 120
LATENCY_WAIT_MAX = 600


def check_latency_wait(field: str, value: object) -> Checked:
    text = str(value).strip()
    if not WHOLE_NUMBER_RE.fullmatch(text) or int(text) > LATENCY_WAIT_MAX:
        raise AnswerError(
            field, value, "is not a latency wait",
            f"whole seconds from 0 to {LATENCY_WAIT_MAX}; 5 to 60 suits most shared filesystems",
            "60",
        )
    seconds = int(text)
    warnings = ()
    if seconds > LATENCY_WAIT_WARN_ABOVE:
        warnings = (
            f"{field}: {seconds} s delays the report of every job whose outputs are missing by "
            f"{seconds} s; above {LATENCY_WAIT_WARN_ABOVE} s is rarely needed (5 to 60 suits most shared filesystems)",
        )
    return Checked(seconds, warnings)


def count_checker(low: int, high: int, example: str) -> Callable[[str, object], Checked]:
    def check_count(field: str, value: object) -> Checked:
        text = str(value).strip()
        if not WHOLE_NUMBER_RE.fullmatch(text) or not low <= int(text) <= high:
            raise AnswerError(field, value, "is not an allowed count", f"a whole number from {low} to {high}", example)
        return Checked(int(text))

    return check_count


def choice_checker(*choices: str) -> Callable[[str, object], Checked]:
    def check_choice(field: str, value: object) -> Checked:
        if value not in choices:
            raise AnswerError(field, value, "is not one of the choices", " or ".join(choices), choices[0])
        return Checked(value)

    return check_choice


# --- containers ---------------------------------------------------------------

SAFE_PATH_RE = re.compile(r"/[A-Za-z0-9_.+@/-]*")
BIND_OPTIONS = ("ro", "rw")
IMAGE_URI_RE = re.compile(r"(?:docker|library|oras|shub)://[A-Za-z0-9][A-Za-z0-9_.+@/:-]*")
SIF_PATH_RE = re.compile(r"[A-Za-z0-9_.+@/-]+\.sif")


def check_binds(field: str, value: str) -> Checked:
    """Apptainer bind paths: SRC[:DEST[:ro|rw]], comma separated; empty for none."""
    if value == "":
        return Checked("")

    def bind_ok(entry: str) -> bool:
        parts = entry.split(":")
        paths, options = parts[:2], parts[2:]
        return (
            len(parts) <= 3
            and all(SAFE_PATH_RE.fullmatch(p) for p in paths)
            and all(o in BIND_OPTIONS for o in options)
        )

    if not isinstance(value, str) or not all(bind_ok(e) for e in value.split(",")):
        raise AnswerError(
            field, value, "is not a list of bind paths",
            "empty, or absolute paths SRC[:DEST[:ro|rw]] separated by ',' (letters, digits, '_.+@/-')",
            "/scratch,/data/ref:/ref:ro",
        )
    return Checked(value)


def check_image(field: str, value: str) -> Checked:
    if not isinstance(value, str) or not (IMAGE_URI_RE.fullmatch(value) or SIF_PATH_RE.fullmatch(value)):
        raise AnswerError(
            field, value, "is not a container image",
            "a docker://, library://, oras:// or shub:// URI, or the path of a .sif file",
            "docker://python:3.12-slim",
        )
    return Checked(value)


# --- all answers ----------------------------------------------------------------

STATUS_COMMANDS = ("auto", "squeue", "sacct")

RULES: dict[str, Callable[[str, object], Checked]] = {
    "project_name": check_project_name,
    "project_slug": check_slug,
    "author": check_free_text,
    "description": check_free_text,
    "slurm_partition": check_partitions,
    "slurm_account": check_account,
    "default_mem_mb": check_memory,
    "default_runtime": check_duration,
    "latency_wait": check_latency_wait,
    "max_jobs": count_checker(1, 10000, "100"),
    "coordinator_partition": check_partitions,
    "coordinator_time": check_duration,
    "coordinator_mem_per_cpu_mb": check_memory,
    "status_command": choice_checker(*STATUS_COMMANDS),
    "use_apptainer": choice_checker("no", "yes"),
    "apptainer_bind": check_binds,
    "apptainer_image": check_image,
}


# Answers whose default is another answer (cookiecutter.json): refusing the copy
# of an already refused value would only repeat the same line.
DEFAULTS_FROM = {"coordinator_partition": "slurm_partition"}


# Recorded answers are rendered again by cruft when the project is regenerated
# or updated: a template marker in one would be evaluated then, or break it.
# (Spelled in pieces: this file is copied into projects, which must hold no marker.)
TEMPLATE_MARKERS = tuple(a + b for a, b in (("{", "{"), ("}", "}"), ("{", "%"), ("%", "}"), ("{", "#"), ("#", "}")))


def check_no_template_marker(field: str, value: object) -> None:
    if isinstance(value, str) and any(marker in value for marker in TEMPLATE_MARKERS):
        raise AnswerError(
            field, value, "holds a template marker, which would be evaluated when the project is regenerated",
            f"the same text without {', '.join(repr(m) for m in TEMPLATE_MARKERS)}",
            "Families of L1",
        )


@dataclass
class Verdict:
    values: dict
    errors: list[str]
    warnings: list[str]


def check_answers(answers: dict) -> Verdict:
    """Check every known answer; unknown and private keys are passed over."""
    verdict = Verdict(values={}, errors=[], warnings=[])
    refused = set()
    for field, rule in RULES.items():
        if field not in answers:
            verdict.errors.append(f"{field}: missing; the template asks for it")
            continue
        source = DEFAULTS_FROM.get(field)
        if source in refused and answers[field] == answers.get(source):
            continue
        try:
            check_no_template_marker(field, answers[field])
            checked = rule(field, answers[field])
        except AnswerError as error:
            message = str(error)
            if field == "project_slug" and answers[field] == slug_of_name(answers.get("project_name")):
                # Its default is made from project_name: the user may never have typed it.
                message += (f" (made from project_name {answers.get('project_name')!r}: answer project_slug "
                            "yourself, or start the name with a letter)")
            verdict.errors.append(message)
            refused.add(field)
            continue
        verdict.values[field] = checked.value
        verdict.warnings.extend(checked.warnings)
    return verdict


# --- forms the generated files need (the template's render filters) -------------


def yaml_quote(value: object) -> str:
    """A YAML double-quoted scalar: JSON strings are valid YAML and escape everything."""
    return json.dumps(str(value))


def shell_quote(value: object) -> str:
    return shlex.quote(str(value))


RENDER_FILTERS: dict[str, Callable[[object], object]] = {
    "memory_mb": lambda v: parse_memory_mb("memory", v),
    "runtime_minutes": lambda v: parse_minutes("runtime", v),
    "snakemake_runtime": lambda v: snakemake_runtime(parse_minutes("runtime", v)),
    "slurm_time": lambda v: slurm_time(parse_minutes("time", v)),
    "walltime_warning_seconds": lambda v: walltime_warning_seconds(parse_minutes("time", v)),
    "yaml_quote": yaml_quote,
    "shell_quote": shell_quote,
}
