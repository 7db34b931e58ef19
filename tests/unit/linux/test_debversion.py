"""The project's own dpkg version comparison, on dpkg's and Debian Policy's cases and against dpkg itself."""

from __future__ import annotations

import random
import shutil
import subprocess

import pytest

from checks.linux.facts.debversion import VersionError, compare_versions, parse_version

#: (a, relation, b): Debian Policy 5.6.12's examples and the cases of dpkg's own version tests.
CASES = [
    ("1.0", "=", "1.0"), ("1.0", "=", "1.0-0"), ("0:1.0", "=", "1.0"), ("1.0-1", "=", "0:1.0-1"),
    ("1.0", "<", "1.0-1"), ("1.0~rc1", "<", "1.0"), ("1.0~rc1", "<", "1.0~rc2"), ("1.0~~", "<", "1.0~~a"),
    ("1.0~~a", "<", "1.0~"), ("1.0~", "<", "1.0"), ("1.0", "<", "1.0a"), ("1.0a", "<", "1.0+"),
    ("1.0a", "<", "1.0.1"), ("1.0+b1", ">", "1.0"), ("1:0.1", ">", "2.0"), ("1:1.0", "<", "2:0.1"),
    ("1.2.3", "<", "1.2.3.0"), ("1.10", ">", "1.9"), ("1.010", "=", "1.10"), ("1.0-1", "<", "1.0-2"),
    ("1.0-1.1", ">", "1.0-1"), ("1.0-1~bpo12+1", "<", "1.0-1"), ("2.36-9+deb12u4", "<", "2.36-9+deb12u7"),
    ("3.0.2-0ubuntu1.12", "<", "3.0.2-0ubuntu1.15"), ("1:9.2p1-2+deb12u2", ">", "1:9.2p1-2+deb12u1"),
    ("7.88.1-10+deb12u5", "<", "7.88.1-10+deb12u8"), ("1-b-c-1", "<", "1-b-c-2"),
    ("1.0-a", "<", "1.0-b"), ("0.9", ">", "0.8.9"), ("1.0.0", ">", "1.0"), ("0:0", "=", "0"),
    ("1.0-1ubuntu0.1", ">", "1.0-1"), ("5.10.0-28", "<", "5.10.0-100"), ("1.0~beta", ">", "1.0~alpha"),
]


@pytest.mark.parametrize("a, relation, b", CASES)
def test_compares_like_dpkg(a: str, relation: str, b: str) -> None:
    result = compare_versions(a, b)
    assert {"<": result < 0, "=": result == 0, ">": result > 0}[relation], (a, b, result)
    assert (compare_versions(b, a) > 0) == (result < 0) and (compare_versions(b, a) == 0) == (result == 0)


@pytest.mark.parametrize("text", ["", " ", "a1.0", "1.0 2", "x:1.0", ":1.0", "1:", "1:-1", "1.0\n2"])
def test_refuses_what_dpkg_refuses(text: str) -> None:
    with pytest.raises(VersionError):
        parse_version(text)


def test_epoch_upstream_and_revision_split_at_the_first_colon_and_the_last_hyphen() -> None:
    assert parse_version("2:1.2-3-4") == (2, "1.2-3", "4")
    assert parse_version("1.2") == (0, "1.2", "")


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg is not installed")
def test_agrees_with_dpkg_compare_versions_on_generated_pairs() -> None:
    """200 pairs built from the characters that matter (digits, letters, ~ + . - :), checked by dpkg itself."""
    rng = random.Random(62443)
    pieces = ["0", "1", "2", "9", "10", "01", "a", "b", "z", "~", "+", ".", "~~", "A"]

    def version() -> str:
        upstream = rng.choice("0123456789") + "".join(rng.choice(pieces) for _ in range(rng.randint(0, 4)))
        epoch = f"{rng.randint(0, 2)}:" if rng.random() < 0.3 else ""
        revision = "-" + "".join(rng.choice(pieces) for _ in range(rng.randint(1, 3))) if rng.random() < 0.5 else ""
        return epoch + upstream + revision

    pairs = [(version(), version()) for _ in range(200)]
    script = "".join(f"if dpkg --compare-versions '{a}' lt '{b}'; then echo lt; "
                     f"elif dpkg --compare-versions '{a}' eq '{b}'; then echo eq; else echo gt; fi\n"
                     for a, b in pairs)
    answers = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=120,
                             env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"}).stdout.split()
    assert len(answers) == len(pairs)
    for (a, b), answer in zip(pairs, answers):
        result = compare_versions(a, b)
        ours = "lt" if result < 0 else "eq" if result == 0 else "gt"
        assert ours == answer, (a, b)
