#!/usr/bin/env python3
"""The coordinator job's sbatch settings, read from profiles/slurm/coordinator.env
without running it: NAME='value' lines in shell quoting, comments, blank lines.

  scripts/coordinator_settings.py
      Prints the values one per line, in the order of NAMES (for
      submit_snakemake.sh). scripts/doctor.py imports read() instead.

Exit codes: 0 read; 1 the file is missing or holds a line of another kind (named).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

PATH = Path(__file__).resolve().parent.parent / "profiles" / "slurm" / "coordinator.env"
NAMES = ("COORDINATOR_PARTITION", "COORDINATOR_ACCOUNT", "COORDINATOR_TIME", "COORDINATOR_MEM_PER_CPU_MB",
         "COORDINATOR_WALLTIME_WARNING_S")


def value_of(text: str) -> str | None:
    """The one shell word of text ('' for none), or None for anything else."""
    try:
        words = shlex.split(text, comments=True)
    except ValueError:
        return None
    if len(words) > 1 or any(not character.isprintable() for word in words for character in word):
        return None
    return words[0] if words else ""


def read(path: Path = PATH) -> dict[str, str]:
    """NAME -> value; ValueError names the first line that is not a setting."""
    where = "profiles/slurm/coordinator.env"
    settings = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, text = line.strip().partition("=")
        value = value_of(text) if sep and name in NAMES else None
        if value is None:
            raise ValueError(f"{where} line {number} is not NAME='value' with one of {', '.join(NAMES)}: "
                             f"{line.strip()[:80]!r}")
        settings[name] = value
    missing = [name for name in NAMES if name not in settings]
    if missing:
        raise ValueError(f"{where} lacks {', '.join(missing)} (restore it with 'git checkout {where}')")
    return settings


def main() -> int:
    try:
        settings = read()
    except (OSError, ValueError) as error:
        print(f"coordinator_settings.py: {error}", file=sys.stderr)
        return 1
    for name in NAMES:
        print(settings[name])
    return 0


if __name__ == "__main__":
    sys.exit(main())
