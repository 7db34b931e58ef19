"""pysnmp's MIB modules are compiled once per process, and every SNMP engine still gets its own MIB state."""

from __future__ import annotations

from pathlib import Path

from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

from connectors.snmp import mibcode


def test_engines_keep_their_own_state_with_shared_code() -> None:
    mibcode.install()
    mibcode.install()  # idempotent
    first, second = SnmpEngine(), SnmpEngine()
    compiled = len(mibcode._CODE)
    third = SnmpEngine()
    assert compiled > 10 and len(mibcode._CODE) == compiled  # the third engine compiled nothing
    ids = [e.get_mib_builder().import_symbols("SNMP-FRAMEWORK-MIB", "snmpEngineID")[0]
           for e in (first, second, third)]
    assert len({id(i) for i in ids}) == 3 and len({bytes(i.syntax) for i in ids}) == 3


def test_run_path_runs_each_time_in_fresh_globals_like_runpy(tmp_path: Path) -> None:
    module = tmp_path / "counter.py"
    module.write_text("state = seen.append(1) or len(seen)\nname = __name__\n")
    seen: list[int] = []
    given = {"seen": seen}
    first = mibcode._CompiledOnce.run_path(str(module), given)
    second = mibcode._CompiledOnce.run_path(str(module), given)
    assert (first["state"], second["state"], first["name"]) == (1, 2, "<run_path>")
    assert given == {"seen": seen} and first is not second
    module.write_text("state = 'edited'\n")  # another source compiles anew
    assert mibcode._CompiledOnce.run_path(str(module), {})["state"] == "edited"
