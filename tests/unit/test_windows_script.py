"""The composed Windows PowerShell script: its shape, its bootstrap, and that the simulator's own reader reads
every built script as the connector's parser does."""

from __future__ import annotations

import base64

import pytest

from auditor.registry import REGISTRY
from connectors.ssh.script import split_output
from connectors.windows.script import BOOTSTRAP, bootstrap_command, build_script, parse_script
from simulators.ssh.powershell_reader import NotAPowerShellScript, is_bootstrap, read_powershell_script

NONCE = "0123456789abcdef0123456789abcdef"


def registry_sections() -> list[str]:
    return [req.target for req in REGISTRY.load().named_requests().values() if req.op == "powershell"]


def test_the_bootstrap_fits_cmd_exe_and_reads_the_script_from_stdin() -> None:
    command = bootstrap_command()
    assert len(command) < 8191 and command.startswith("powershell.exe -NoProfile -NonInteractive -EncodedCommand ")
    assert base64.b64decode(command.rsplit(" ", 1)[1]).decode("utf-16-le") == BOOTSTRAP
    assert is_bootstrap(command)
    assert not is_bootstrap("powershell.exe -NoProfile -NonInteractive -EncodedCommand " +
                            base64.b64encode("Remove-Item C:\\x".encode("utf-16-le")).decode())


def test_every_registered_section_round_trips_and_both_readers_agree() -> None:
    sections = registry_sections()
    script = build_script(sections, NONCE, 30)
    assert parse_script(script) == (NONCE, 30.0, sections)
    read = read_powershell_script(script)
    assert (read.nonce, read.timeout, read.sections) == (NONCE, 30.0, sections)


def test_markers_never_appear_assembled_in_the_script() -> None:
    script = build_script(registry_sections(), NONCE, 30)
    assert f"__IACS_{NONCE}" not in script and "'__IACS_{0}_B_{1}__' -f" in script


@pytest.mark.parametrize("section, why", [
    ("", "empty"), ("Get-Date\n'@\nRemove-Item x", "here-string"), ("a\0b", "NUL"), ("a\r\nb", "carriage return")])
def test_sections_that_would_break_out_of_their_here_string_are_refused(section: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        build_script([section], NONCE, 30)


def test_the_time_bound_is_per_section_and_clamped() -> None:
    assert "$__iacs_ms = 1500\n" in build_script(["Get-Date"], NONCE, 1.5)
    assert "$__iacs_ms = 600000\n" in build_script(["Get-Date"], NONCE, 10_000)
    with pytest.raises(ValueError):
        build_script(["Get-Date"], "short", 30)


def test_the_simulator_reader_refuses_other_text() -> None:
    script = build_script(["Get-Date | ConvertTo-Json"], NONCE, 30)
    for broken in (script.replace(f"'{NONCE}'", "'x'"), script.replace("\n'@\n", "\n'@ x\n"),
                   script.replace("[PowerShell]::Create()", ""), "Get-Date"):
        with pytest.raises(NotAPowerShellScript):
            read_powershell_script(broken)


def test_the_runners_output_splits_with_the_linux_splitter() -> None:
    """What the runner prints for three sections (done, threw, timed out) splits into three items."""
    out = (f"noise\n__IACS_{NONCE}_B_0__\n{{\"a\":1}}\n__IACS_{NONCE}_E_0__ 0\n"
           f"__IACS_{NONCE}_B_1__\nERROR: Access is denied.\n__IACS_{NONCE}_E_1__ 1\n"
           f"__IACS_{NONCE}_B_2__\n\n__IACS_{NONCE}_E_2__ 124\n")
    _sudo, sections = split_output(out, NONCE, 3)
    assert [(s.text, s.exit_code) for s in sections.values()] == [
        ('{"a":1}', 0), ("ERROR: Access is denied.", 1), ("", 124)]
