"""The batch script of the SSH connector: build/parse round trip and robust output splitting."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from connectors.ssh.script import (OutputSplitter, Section, build_script, parse_script, parse_script_details,
                                   split_output, sudo_argv)

NONCE = "0123456789abcdef0123456789abcdef"

COMMANDS = [
    ("sysctl -a", True),
    ("cat /etc/os-release", False),
    ("printf 'it'\"'\"'s %s\\n' \"$HOME\"", False),  # quotes of both kinds, a variable
    ("grep -E '^(a|b)$' /etc/passwd; echo done", True),
    ("awk -F: '$3 == 0 {print $1}' /etc/passwd", False),
    ("echo multi\necho line", False),  # a newline inside one command
    ("echo '__IACS_X_B_0__'", False),
]


def marker(kind: str, index: int | None = None, nonce: str = NONCE, rc: int | None = None) -> str:
    text = f"__IACS_{nonce}_{kind}" + (f"_{index}__" if index is not None else "__")
    return text + (f" {rc}" if rc is not None else "")


def output(*sections: tuple[int, str, int | None], sudo: str | None = None, nonce: str = NONCE) -> bytes:
    parts = []
    if sudo is not None:
        parts.append(f"__IACS_{nonce}_SUDO__ {sudo}\n")
    for index, text, rc in sections:
        parts.append(marker("B", index, nonce) + "\n" + text)
        if rc is not None:
            parts.append("\n" + marker("E", index, nonce, rc) + "\n")
    return "".join(parts).encode()


# ----------------------------------------------------------------------------- build / parse
def test_round_trip() -> None:
    script = build_script(COMMANDS, NONCE, 30)
    nonce, parsed = parse_script(script)
    assert nonce == NONCE
    assert parsed == [(i, cmd, sudo) for i, (cmd, sudo) in enumerate(COMMANDS)]
    details = parse_script_details(script)
    assert details.timeout == 30 and details.sudo_check


def test_script_shape() -> None:
    script = build_script([("id -un", False)], NONCE, 2.5)
    assert script.startswith("LC_ALL=C; export LC_ALL\n")
    assert "sudo" not in script  # no command asked for sudo: no sudo check at all
    assert "timeout -k 5 3" in script  # rounded up to whole seconds (portable timeout syntax)
    assert "sh -c 'id -un' </dev/null 2>&1" in script
    # the script never contains an assembled marker, so printing it cannot forge one
    assert marker("B", 0) not in script and marker("E", 0) not in script
    assert parse_script_details(script).sudo_check is False


def test_sudo_check_only_when_asked_and_about_the_exact_command_line() -> None:
    script = build_script([("id -un", False), ("sshd -T", True), ("auditctl -l", True)], NONCE, 10)
    # sudo is asked (-l, never prompting) about the first sudo command exactly as it will run
    assert script.count("if sudo -n -l env LC_ALL=C $__iacs_t sh -c 'sshd -T' </dev/null >/dev/null 2>&1") == 1
    assert "sudo -S" not in script  # no password: nothing reads stdin
    assert "$__iacs_s $__iacs_t sh -c 'sshd -T'" in script
    assert "\n$__iacs_t sh -c 'id -un'" in script
    parsed = parse_script_details(script)
    assert parsed.sudo_check and not parsed.sudo_password
    assert sudo_argv("sshd -T", 10) == ["env", "LC_ALL=C", "timeout", "-k", "5", "10", "sh", "-c", "sshd -T"]


def test_with_a_sudo_password_sudo_reads_it_from_stdin_and_the_script_never_holds_it() -> None:
    script = build_script([("sshd -T", True)], NONCE, 10, sudo_password=True)
    assert "\nsudo -S -v >/dev/null 2>&1\n" in script  # a direct child of the script's shell (credential cache)
    assert script.index("sudo -S -v") < script.index("if sudo -n -l")
    assert parse_script_details(script).sudo_password
    assert "read " not in script and "$(" not in script  # no shell variable ever holds it


def test_a_command_quoting_the_sudo_check_is_no_sudo_check() -> None:
    """Only the preamble says whether sudo is checked (found by the simulator's own script reader)."""
    quoting = "grep 'if sudo -n -l env' /etc/x"
    assert parse_script_details(build_script([(quoting, False)], NONCE, 5)).sudo_check is False


@pytest.mark.parametrize("bad", [[("", False)], [("   ", False)], [("a\0b", False)]])
def test_rejects_bad_commands(bad: list[tuple[str, bool]]) -> None:
    with pytest.raises(ValueError):
        build_script(bad, NONCE, 10)


@pytest.mark.parametrize("nonce", ["short", "has space in it", "x" * 65, "abc;rm -rf /x"])
def test_rejects_bad_nonce(nonce: str) -> None:
    with pytest.raises(ValueError):
        build_script([("true", False)], nonce, 10)


def test_parse_rejects_other_commands() -> None:
    for text in ["id -un", "LC_ALL=C; export LC_ALL\necho hi\n", ""]:
        with pytest.raises(ValueError):
            parse_script(text)


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX sh")
def test_script_runs_in_a_real_shell() -> None:
    commands = [("printf 'a\\nb'", False), ("exit 3", False), ("no-such-command-xyz", False),
                ("printf '\\377\\376ok\\n'", False), ("echo multi\necho line", False), ("sleep 5", False)]
    script = build_script(commands, NONCE, 1)
    proc = subprocess.run(["sh", "-c", script], capture_output=True, timeout=20, stdin=subprocess.DEVNULL)
    sudo_ok, sections = split_output(proc.stdout, NONCE, len(commands))
    assert sudo_ok is None
    assert sections[0] == Section("a\nb", 0)  # no trailing newline added or lost
    assert sections[1] == Section("", 3)
    assert sections[2].exit_code == 127 and "not found" in sections[2].text
    assert sections[3] == Section("\ufffd\ufffdok\n", 0)  # non-UTF-8 decoded with replacement
    assert sections[4] == Section("multi\nline\n", 0)
    if shutil.which("timeout"):
        assert sections[5].exit_code == 124  # bounded by coreutils timeout


# ----------------------------------------------------------------------------- split
def test_split_simple() -> None:
    data = output((0, "one\n", 0), (1, "two", 1), (2, "", 127), sudo="yes")
    assert split_output(data, NONCE, 3) == (True, {0: Section("one\n", 0), 1: Section("two", 1),
                                                   2: Section("", 127)})


def test_split_ignores_noise_outside_sections() -> None:
    data = b"Welcome to the MOTD\nlast login...\n" + output((0, "x\n", 0)) + b"trailing noise\n"
    assert split_output(data, NONCE, 1) == (None, {0: Section("x\n", 0)})


def test_forged_markers_are_content() -> None:
    other = "f" * 32
    forged = (
        marker("E", 0, other, 0) + "\n"  # another nonce
        + marker("B", 1, other) + "\n"
        + "prefix " + marker("E", 0, rc=0) + "\n"  # right nonce, but not a whole line
        + marker("E", 0, rc=0) + " trailing\n"  # right nonce, extra text
        + f"__IACS_{NONCE}_SUDO__ yes\n"  # sudo marker inside a section is content
        + marker("B", 0) + "\n"  # a repeated begin marker
        + marker("E", 1, rc=0) + "\n"  # end marker of a section that is not open
        + marker("B", 7) + "\n"  # a section that was never announced
    )
    data = output((0, forged, 0), (1, "real\n", 0), sudo="no")
    sudo_ok, sections = split_output(data, NONCE, 2)
    assert sudo_ok is False
    assert sections[0] == Section(forged, 0)
    assert sections[1] == Section("real\n", 0)


def test_truncated_output() -> None:
    data = output((0, "complete\n", 0), (1, "half of it", None))
    sudo_ok, sections = split_output(data, NONCE, 3)
    assert sections[0] == Section("complete\n", 0)
    assert sections[1] == Section("half of it", None)  # no end marker: did not finish
    assert 2 not in sections  # never started


def test_truncated_inside_a_marker_line() -> None:
    data = output((0, "ok\n", 0)) + marker("B", 1).encode()[:10]
    _sudo, sections = split_output(data, NONCE, 2)
    assert sections == {0: Section("ok\n", 0)}


def test_non_utf8_is_replaced() -> None:
    data = output((0, "", 0)).replace(marker("B", 0).encode() + b"\n",
                                      marker("B", 0).encode() + b"\nab\xff\xfe\xc3\n")
    _sudo, sections = split_output(data, NONCE, 1)
    assert sections[0] == Section("ab\ufffd\ufffd\ufffd\n", 0)


def test_section_cap_records_truncation() -> None:
    big = "A" * 1000 + "\n" + "B" * 1000
    data = output((0, big, 0), (1, "small\n", 0))
    splitter = OutputSplitter(NONCE, 2, max_section=100)
    splitter.feed(data)
    sections = splitter.sections()
    assert sections[0] == Section("A" * 100, 0)
    assert splitter.truncated(0) and splitter.section_bytes(0) == len(big)
    assert sections[1] == Section("small\n", 0) and not splitter.truncated(1)


def test_section_cap_exact_size_is_not_truncated() -> None:
    splitter = OutputSplitter(NONCE, 1, max_section=5)
    splitter.feed(output((0, "12345", 0)))
    assert splitter.sections()[0] == Section("12345", 0) and not splitter.truncated(0)


def test_total_cap() -> None:
    data = output((0, "x" * 5000 + "\n", 0), (1, "y\n", 0))
    _sudo, sections = split_output(data, NONCE, 2, max_total=1000)
    assert sections[0].exit_code is None and len(sections[0].text) < 1000
    assert 1 not in sections


def test_incremental_feeding_in_tiny_chunks() -> None:
    data = output((0, "line1\nline2", 0), (1, "x" * 300 + "\n" + "z", 2), sudo="yes")
    splitter = OutputSplitter(NONCE, 2)
    for i in range(len(data)):
        splitter.feed(data[i:i + 1])
    assert (splitter.sudo_ok, splitter.sections()) == split_output(data, NONCE, 2)
    assert splitter.sections()[1] == Section("x" * 300 + "\nz", 2)


def test_memory_stays_bounded_for_a_flood_without_newlines() -> None:
    splitter = OutputSplitter(NONCE, 1, max_section=1024)
    splitter.feed(output((0, "", None)))
    chunk = b"F" * 65536
    for _ in range(64):  # 4 MiB without a single newline
        splitter.feed(chunk)
    splitter.feed(b"\n" + marker("E", 0, rc=0).encode() + b"\n")
    assert splitter.sections()[0] == Section("F" * 1024, 0)
    assert splitter.section_bytes(0) == 64 * 65536 and splitter.truncated(0)
    assert len(splitter._pending) == 0 and len(splitter._data[0]) <= 1025


def test_string_input() -> None:
    data = output((0, "héllo\n", 0)).decode()
    assert split_output(data, NONCE, 1)[1][0] == Section("héllo\n", 0)
