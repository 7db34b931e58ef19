"""The TextFSM rows the CLI facts read are what ntc-templates' own ``parse_output`` gives, template looked up once."""

from __future__ import annotations

from pathlib import Path

import pytest
from ntc_templates.parse import parse_output

from checks.netcli.facts import _parse_textfsm

FIXTURES = Path(__file__).resolve().parents[3] / "simulators" / "netcli" / "fixtures"


@pytest.mark.parametrize("fixture", ["ios-weak", "ios-hardened"])
@pytest.mark.parametrize(("command", "file"), [("show version", "show-version.txt"),
                                               ("show interfaces status", "interfaces-status.txt")])
def test_rows_match_parse_output(fixture: str, command: str, file: str) -> None:
    text = (FIXTURES / fixture / file).read_text(encoding="utf-8")
    rows = _parse_textfsm("cisco_ios", command, text)
    assert rows and rows == parse_output(platform="cisco_ios", command=command, data=text)
    assert _parse_textfsm("cisco_ios", command, text) == rows  # the cached template parses again from its start


@pytest.mark.parametrize("command", ["show version", "show interfaces status"])
def test_template_taken_by_its_name_is_the_one_the_index_names(command: str) -> None:
    from checks.netcli.facts import _index, _templates

    folder, index = _index()
    row = index.GetRowMatch({"Command": command, "Platform": "cisco_ios"})
    named = tuple((Path(folder) / name).read_text(encoding="utf-8") for name in index.index[row]["Template"].split(":"))
    assert _templates("cisco_ios", command) == named
