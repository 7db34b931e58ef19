"""Every PowerShell section any pack may send to a Windows host is read-only: a static allow-list lint.

The Linux lint (``test_read_only_commands.py``) forbids known writers; PowerShell is checked the other way
round, by allow-list: every cmdlet must have a reading verb, every native tool one reading form, every .NET
static call a known harmless one, and there is no redirection. The only deletion allowed is the
section's own temporary ``secedit /export`` file, by the variable that section created.
"""

from __future__ import annotations

import re

import pytest

from auditor.registry import REGISTRY

#: Cmdlet verbs that only read (``Confirm-SecureBootUEFI`` reads the UEFI variable; ``Join-Path`` builds a string).
READ_VERBS = {"Get", "Test", "Select", "Where", "ForEach", "ConvertTo", "Join", "Sort", "Measure"}
ALLOWED_CMDLETS = {"Confirm-SecureBootUEFI"}
#: Native tools and the only way they may be called.
NATIVE = {
    "secedit.exe": r"& secedit\.exe /export /cfg \$file /areas [A-Z_ ]+ /quiet",
    "auditpol.exe": r"& auditpol\.exe /get /category:\* /r",
    "w32tm.exe": r"& w32tm\.exe /query /status",
}
STATIC_CALLS = {"[guid]::NewGuid"}
_CMDLET = re.compile(r"\b([A-Z][a-z]+)-([A-Z][A-Za-z0-9]+)\b")
_TEMP_FILE = "$file = Join-Path $env:TEMP ('iacs-' + [guid]::NewGuid().ToString('N') + '.inf')"
_OWN_DELETE = "Remove-Item -LiteralPath $file -Force"


def sections() -> list[str]:
    registry = REGISTRY.load()
    return sorted({r.target for f in registry.facts.values() for r in f.requests
                   if r.protocol == "ssh" and r.op == "powershell"})


def problems(section: str) -> list[str]:
    found = []
    text = section
    if _OWN_DELETE in text:
        if _TEMP_FILE not in text or text.count("$file =") != 1:
            found.append("deletes a file it did not create as its own temporary file")
        text = text.replace(_OWN_DELETE, "")
    for verb, noun in _CMDLET.findall(re.sub(r"'[^']*'", "''", text)):  # not inside string literals
        name = f"{verb}-{noun}"
        if verb not in READ_VERBS and name not in ALLOWED_CMDLETS:
            found.append(f"cmdlet {name}")
    for line in text.splitlines():
        for tool, form in NATIVE.items():
            if tool.split(".")[0] in line.lower() and not re.search(form, line):
                found.append(f"{tool} not in its read-only form: {line.strip()}")
    for call in re.findall(r"\[[\w.]+\]::\w+", text):
        if call not in STATIC_CALLS:
            found.append(f".NET call {call}")
    if re.search(r"(?<![-\w])>{1,2}(?!\s*\$null)|\|\s*(Out-File|Tee-Object|Set-Content|Add-Content)", text):
        found.append("writes through a redirection")
    if re.search(r"\b(iex|Invoke-Expression|Start-Process|New-Object)\b|&\s*\(|\.(Delete|Set\w*|Write\w*)\(", text):
        found.append("runs dynamic code or calls a writing method")
    for match in re.finditer(r"&\s*([\w.]+)", text):
        if match.group(1) not in NATIVE:
            found.append(f"runs {match.group(1)}")
    return found


def test_the_lint_catches_what_it_should() -> None:
    writes = ["Set-ItemProperty -Path HKLM:\\X -Name A -Value 1", "Remove-Item C:\\x", "Stop-Service WinRM",
              "& auditpol.exe /set /category:* /success:enable", "& w32tm.exe /resync", "Get-Service > C:\\x.txt",
              "& net.exe user x /add", "[IO.File]::WriteAllText('x', 'y')", "Invoke-Expression $x",
              "Get-Service | Out-File x", "(Get-Item x).Delete()", "& secedit.exe /configure /db x.sdb",
              "$file = 'C:\\Windows\\x'\nRemove-Item -LiteralPath $file -Force", "Disable-LocalUser Guest"]
    reads = ["Get-LocalUser | ConvertTo-Json -Compress", "$null = & secedit.exe /export /cfg $file /areas USER_RIGHTS "
             "/quiet", "& auditpol.exe /get /category:* /r", "Confirm-SecureBootUEFI", "Test-Path -LiteralPath $k"]
    for section in writes:
        assert problems(section), section
    for section in reads:
        assert not problems(section), section


@pytest.mark.parametrize("section", sections(), ids=lambda s: s.splitlines()[0][:50])
def test_every_powershell_section_is_read_only(section: str) -> None:
    assert not problems(section), problems(section)


def test_every_section_prints_one_json_document() -> None:
    for section in sections():
        assert "ConvertTo-Json" in section.splitlines()[-1] or "ConvertTo-Json -Compress -InputObject" in section
