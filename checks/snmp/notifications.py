"""Where a network device sends its SNMP notifications, from its own SNMP-TARGET-MIB (RFC 3413).

A trap or inform that reaches no management station monitors nothing. The agent's snmpTargetAddrTable
names each destination; many agents keep the table out of a read-only user's view, so an empty table
asks a person (the configuration, or the CLI pack's ``netcli.snmp.traps``, can tell), never passes.
"""

from __future__ import annotations

from auditor.registry import check
from auditor.verdicts import Verdict, manual, passed
from checks.snmp.facts import TrapTarget


@check("snmp.traps.receivers",
       title="SNMP notifications have a receiver (SNMP-TARGET-MIB)",
       requirements=["SR 6.2", "CR 6.2"], applies_to=["network"], severity="medium",
       fixture_verdicts={"weak": "manual", "hardened": "pass"},
       fixture_note=("the weak switch's target table is empty, which SNMP cannot tell apart from a table kept out "
                     "of the audit user's view: a person confirms"),
       remediation=("Send notifications to the site's management station (Cisco IOS: `snmp-server host ADDRESS "
                    "version 3 priv USER`; net-snmp: `trap2sink`/`informsink`), and let the audit user read "
                    "SNMP-TARGET-MIB so the destination can be verified."))
def trap_receivers(snmp_trap_targets: list[TrapTarget]) -> Verdict:
    """Traps report authentication failures, link and configuration changes as they happen; without a
    receiver configured on the device they go nowhere, and continuous monitoring misses them."""
    expected = "at least one notification target in snmpTargetAddrTable"
    observed = [f"{t.name}: {t.transport} {t.address}" for t in snmp_trap_targets]
    if not observed:
        return manual("snmpTargetAddrTable is empty: either no notification receiver is configured or the table is "
                      "outside the audit user's view; check the device's trap configuration", expected)
    return passed(observed, expected, f"{len(observed)} notification target(s) configured")
