"""Debian package version comparison, as dpkg does it (``dpkg --compare-versions``).

The pending security updates of a Debian/Ubuntu host are found on the auditor's side by comparing each
installed version with the versions in the host's cached security package lists, so the comparison must
order versions exactly as dpkg does: ``[epoch:]upstream[-revision]``, epochs as numbers, then upstream and
revision by dpkg's ``verrevcmp`` (runs of non-digits compared character by character with letters before
other characters and ``~`` before everything, even the end; runs of digits compared as numbers).
python-debian and python-apt have this but are GPL-licensed, so the project keeps its own (tested against
dpkg's cases and against ``dpkg --compare-versions`` itself).
"""

from __future__ import annotations

import functools


class VersionError(ValueError):
    """A string that dpkg would not accept as a version."""


def _digit(char: str) -> bool:
    return "0" <= char <= "9"


def _order(char: str) -> int:
    if _digit(char):
        return 0
    if char.isascii() and char.isalpha():
        return ord(char)
    if char == "~":
        return -1
    return ord(char) + 256


def _verrevcmp(a: str, b: str) -> int:
    i = j = 0
    while i < len(a) or j < len(b):
        while (i < len(a) and not _digit(a[i])) or (j < len(b) and not _digit(b[j])):
            ac = _order(a[i]) if i < len(a) else 0
            bc = _order(b[j]) if j < len(b) else 0
            if ac != bc:
                return ac - bc
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        first_diff = 0
        while i < len(a) and _digit(a[i]) and j < len(b) and _digit(b[j]):
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len(a) and _digit(a[i]):
            return 1
        if j < len(b) and _digit(b[j]):
            return -1
        if first_diff:
            return first_diff
    return 0


@functools.lru_cache(maxsize=4096)
def parse_version(text: str) -> tuple[int, str, str]:
    """``[epoch:]upstream[-revision]`` -> (epoch, upstream, revision); :class:`VersionError` when dpkg would
    refuse it (empty, a non-numeric epoch, an upstream part not starting with a digit, spaces)."""
    version = text.strip()
    if not version or any(c.isspace() for c in version):
        raise VersionError(f"not a Debian version: {text!r}")
    epoch = 0
    if ":" in version:
        head, version = version.split(":", 1)
        if not head or not all(map(_digit, head)):
            raise VersionError(f"epoch is not a number in {text!r}")
        epoch = int(head)
    upstream, _, revision = version.rpartition("-") if "-" in version else (version, "", "")
    if not upstream or not _digit(upstream[0]):
        raise VersionError(f"upstream version does not start with a digit in {text!r}")
    return epoch, upstream, revision


def compare_versions(a: str, b: str) -> int:
    """Negative, zero or positive as version ``a`` is older than, equal to or newer than ``b``."""
    (epoch_a, up_a, rev_a), (epoch_b, up_b, rev_b) = parse_version(a), parse_version(b)
    if epoch_a != epoch_b:
        return epoch_a - epoch_b
    return _verrevcmp(up_a, up_b) or _verrevcmp(rev_a, rev_b)
