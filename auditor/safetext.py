"""Device strings made harmless for a terminal or a text file: control characters shown, never obeyed.

A device chooses its banner, its sysDescr, its product name. Written raw to a terminal, ``ESC ] 0 ; ... BEL``
retitles the window and ``ESC [ 2 J`` clears the screen; in ``report.md`` or a CSV opened in a terminal
pager they do the same. Every text renderer (the terminal summary, log lines, Markdown, CSV, the matrix,
JUnit, PDF, HTML) passes device strings through :func:`printable`, which replaces each C0 and C1 control
character, DEL and the Unicode bidirectional overrides by a visible escape (``\\x1b``, ``\\u202e``). Line
breaks and tabs are kept where the format can carry them (``keep``).
"""

from __future__ import annotations

import re
# C0 controls, DEL, C1 controls, and the bidi embeddings/overrides/isolates that reorder what a reader sees
_CONTROLS = "\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_PATTERNS: dict[str, re.Pattern[str]] = {}


def _pattern(keep: str) -> re.Pattern[str]:
    if keep not in _PATTERNS:
        kept = "".join(re.escape(c) for c in keep)
        _PATTERNS[keep] = re.compile(f"(?![{kept}])[{_CONTROLS}]" if kept else f"[{_CONTROLS}]")
    return _PATTERNS[keep]


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, keep: str = "") -> str:
    """``text`` with every control character except those in ``keep`` (e.g. ``"\\n\\t"``) shown as an escape."""
    return _pattern(keep).sub(_escape, text) if text and not text.isprintable() else text


# the controls without line feed, tab and carriage return, as one character class: a class without a lookahead
# lets the regex engine scan a long evidence text several times faster, and most texts hold none of them
_NOT_LINE_BREAKS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_LINES = re.compile(f"[{_NOT_LINE_BREAKS}]|\r(?!\n)")
_LINES_ANY = re.compile(f"[{_NOT_LINE_BREAKS}]")


def printable_lines(text: str) -> str:
    """:func:`printable` keeping line breaks (``\\n``, ``\\r\\n``) and tabs (a multi-line banner, a traceback);
    a lone ``\\r``, which would let a line overwrite itself on a terminal, is escaped."""
    # every character escaped here is unprintable to str.isprintable (categories Cc and Cf), a test in C
    if not text or text.isprintable() or ("\r" not in text and _LINES_ANY.search(text) is None):
        return text
    return _LINES.sub(_escape, text)
