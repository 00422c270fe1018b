#!/usr/bin/env python3
"""Select one repeat family from a BED file by name, or sort a BED file by chromosome and start.

Usage:
  bed_family.py select --name-pattern L1 INPUT.bed > OUTPUT.bed
  bed_family.py sort INPUT.bed > OUTPUT.bed

Header lines (track, browser, #) are kept, in their order, above the intervals.
Standard library only, so that it runs in any container with python3.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Iterable, Iterator

HEADER_PREFIXES = ("track", "browser", "#")


class BedError(ValueError):
    pass


def is_header(line: str) -> bool:
    return line.startswith(HEADER_PREFIXES)


def split_fields(line: str) -> list[str]:
    # BED is tab-separated; some tools write spaces instead.
    return line.split("\t") if "\t" in line else line.split()


def read_lines(path: str) -> Iterator[tuple[int, str]]:
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if line.strip():
                yield number, line


def interval_key(path: str, number: int, line: str) -> tuple[str, int, int]:
    fields = split_fields(line)
    try:
        return fields[0], int(fields[1]), int(fields[2])
    except (IndexError, ValueError):
        raise BedError(f"{path}:{number}: not a BED interval (chrom, start, end): {line!r}") from None


def select_family(path: str, name_pattern: str) -> Iterable[str]:
    """Header lines, then the intervals whose name matches name_pattern ('' keeps all)."""
    pattern = re.compile(name_pattern)
    headers, selected = [], []
    for number, line in read_lines(path):
        if is_header(line):
            headers.append(line)
            continue
        interval_key(path, number, line)
        if not name_pattern:
            selected.append(line)
            continue
        fields = split_fields(line)
        if len(fields) < 4:
            raise BedError(
                f"{path}:{number}: no name column (BED column 4) to match {name_pattern!r} against; "
                'set family_pattern: "" in config/config.yaml to keep every interval'
            )
        if pattern.search(fields[3]):
            selected.append(line)
    return headers + selected


def sort_bed(path: str) -> Iterable[str]:
    """Header lines, then the intervals ordered by chromosome, start and end."""
    headers, intervals = [], []
    for number, line in read_lines(path):
        if is_header(line):
            headers.append(line)
        else:
            intervals.append((interval_key(path, number, line), line))
    intervals.sort(key=lambda item: item[0])
    return headers + [line for _, line in intervals]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    select = commands.add_parser("select", help="keep one repeat family")
    select.add_argument("--name-pattern", required=True, help="regular expression searched in the name; '' keeps all")
    select.add_argument("bed")
    sort = commands.add_parser("sort", help="sort by chromosome and start")
    sort.add_argument("bed")
    args = parser.parse_args(argv)
    try:
        lines = select_family(args.bed, args.name_pattern) if args.command == "select" else sort_bed(args.bed)
    except (BedError, OSError, re.error) as error:
        print(f"bed_family.py: {error}", file=sys.stderr)
        return 1
    sys.stdout.writelines(line + "\n" for line in lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
