"""The sudoers rule text (exactness against the real sudo is tested in tests/integration/test_sudo_real.py)."""

from __future__ import annotations

import pytest

from auditor.registry import REGISTRY
from connectors.ssh.sudoers import SudoersError, escape_argument, sudoers_rule, unsafe_reason


def test_escapes_what_sudoers_gives_a_meaning_and_its_wildcards() -> None:
    assert escape_argument("LC_ALL=C") == "LC_ALL\\=C"
    assert escape_argument("head /etc/sudoers.d/* a,b:c #x !y [z] ?") == \
        "head /etc/sudoers.d/\\* a\\,b\\:c \\#x \\!y \\[z\\] \\?"
    assert escape_argument("a\\b") == "a\\\\\\\\b"  # two levels: the sudoers lexer, then its pattern match
    assert escape_argument("(p) 'q' \"r\" $s") == "(p) 'q' \"r\" $s"


@pytest.mark.parametrize("command, reason", [
    ("sh -c 'id'", "starts with 'sh'"), ("/bin/bash -c x", "starts with 'bash'"), ("xargs cat", "starts with 'xargs'"),
    ("env FOO=1 id", "starts with 'env'"), ("head  -v /etc/x", "repeated spaces"), ("head\t/etc/x", "tabs"),
    ("head /etc/x\nid", "newlines"), (" head /etc/x", "repeated spaces")])
def test_refuses_commands_whose_prefixes_an_exact_rule_would_also_allow(command: str, reason: str) -> None:
    assert reason in (unsafe_reason(command) or "")
    with pytest.raises(SudoersError, match="cannot|starts with"):
        sudoers_rule([command], user="audit", timeout=30, password=False)


def test_every_read_the_linux_pack_runs_under_sudo_can_be_allowed_exactly() -> None:
    commands = [r.target for r in REGISTRY.load().named_requests().values()
                if r.protocol == "ssh" and r.op == "exec" and r.option("sudo", False)]
    assert commands and not [c for c in commands if unsafe_reason(c)]


def test_rule_shape() -> None:
    text = sudoers_rule(["auditctl -l", "auditctl -l"], user="audit", timeout=30, password=False)
    assert text.count("/usr/bin/env LC_ALL\\=C timeout -k 5 30 sh -c auditctl -l") == 1  # duplicates once
    assert "/usr/bin/env LC_ALL\\=C sh -c auditctl -l" in text  # hosts without coreutils timeout
    assert text.endswith("audit ALL=(root) NOPASSWD: IACS_AUDIT_READS\n")
    assert "audit ALL=(root) IACS_AUDIT_READS\n" in sudoers_rule(["id"], user="audit", timeout=30, password=True)
    with pytest.raises(SudoersError, match="user name"):
        sudoers_rule(["id"], user="bad user", timeout=30, password=False)
