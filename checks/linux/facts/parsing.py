"""Small parsers shared by the Linux facts: multi-file dumps, key/value config files, comments, integers."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

_HEADER = re.compile(r"^==> (?P<path>.+) <==$")
_MISSING = re.compile(r"^head: cannot open '(?P<path>.+)' for reading: (?P<reason>.+)$")


@dataclass(frozen=True)
class FileRead:
    """One file as read on the target: its text, or why it could not be read."""

    path: str
    content: str | None
    error: str | None = None

    @property
    def exists(self) -> bool:
        return self.content is not None or (self.error is not None and "No such file" not in self.error)

    @property
    def readable(self) -> bool:
        return self.content is not None


def read_files_command(*paths: str) -> str:
    """A read-only command that prints each file with a ``==> path <==`` header (globs allowed).

    ``head -v`` prints a header even for a single file and names each unreadable file on its own
    line, so one command reads many files and tells missing from forbidden.
    """
    quoted = " ".join(p if any(ch in p for ch in "*?[") else shlex.quote(p) for p in paths)
    return f"head -v -n 100000 -- {quoted} 2>&1"


def parse_files(output: str) -> dict[str, FileRead]:
    """Split the output of :func:`read_files_command` back into files."""
    files: dict[str, FileRead] = {}
    current: str | None = None
    lines: list[str] = []

    def flush() -> None:
        if current is not None:
            text = "\n".join(lines)
            files[current] = FileRead(current, text + ("\n" if lines else ""))

    for line in output.splitlines():
        header = _HEADER.match(line)
        missing = _MISSING.match(line)
        if header:
            flush()
            current, lines = header.group("path"), []
        elif missing:
            flush()
            current, lines = None, []
            files[missing.group("path")] = FileRead(missing.group("path"), None, missing.group("reason"))
        elif current is not None:
            lines.append(line)
    flush()
    # head separates files with one blank line; drop it from the end of each file's content
    return {p: (FileRead(p, f.content[:-1] if f.content and f.content.endswith("\n\n") else f.content, f.error))
            for p, f in files.items()}


def key_values(text: str, *, separator: str | None = None, lower_keys: bool = True,
               first_wins: bool = False) -> dict[str, str]:
    """Parse ``key value`` or ``key=value`` lines, skipping blanks and ``#`` comments."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if separator is None:
            parts = line.split(None, 1)
        else:
            parts = [part.strip() for part in line.split(separator, 1)]
        if len(parts) != 2 or not parts[0]:
            continue
        key = parts[0].lower() if lower_keys else parts[0]
        if first_wins and key in values:
            continue
        values[key] = parts[1].strip().strip('"')
    return values


def strip_comments(text: str, marker: str = "#") -> str:
    """``text`` without what follows ``marker`` on each line."""
    return "\n".join(line.split(marker, 1)[0] for line in text.splitlines())


def to_int(value: Any) -> int | None:
    """``value`` as an integer, or None when it is not one."""
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def int_or(value: Any, default: int) -> int:
    """``value`` as an integer, or ``default`` when it is not one."""
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default
