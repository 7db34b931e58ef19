"""``windows.firewall.*`` and ``windows.services.*``: restricted data flow and least functionality on the network."""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, failed, passed
from checks.windows.facts.network import Listener

PROFILES = ("Domain", "Private", "Public")


@check("windows.firewall.profiles",
       title="Firewall on in every profile, inbound blocked by default",
       requirements=["SR 5.1", "CR 5.1", "SR 7.7", "CR 7.7"], applies_to=["host"], severity="high",
       remediation=("GPO: Computer Configuration\\Windows Settings\\Security Settings\\Windows Defender Firewall with "
                    "Advanced Security\\...\\Properties: Domain, Private and Public Profile: Firewall state = On, "
                    "Inbound connections = Block (default). Verify: `Get-NetFirewallProfile -PolicyStore ActiveStore "
                    "| Select-Object Name, Enabled, DefaultInboundAction`."))
def firewall_profiles(win_firewall: dict[str, dict[str, str]]) -> Verdict:
    """The host firewall is the last segmentation boundary of a workstation (CR 5.1): a profile switched
    off or allowing inbound by default opens every listening service to the zone."""
    expected = "Domain, Private and Public: Enabled True, DefaultInboundAction Block"
    observed = {name: {k: win_firewall.get(name, {}).get(k) for k in ("Enabled", "DefaultInboundAction")}
                for name in PROFILES}
    problems = []
    for name in PROFILES:
        profile = win_firewall.get(name)
        if profile is None:
            problems.append(f"{name}: not reported")
        elif profile.get("Enabled") != "True":
            problems.append(f"{name}: firewall off")
        elif profile.get("DefaultInboundAction") not in ("Block", "NotConfigured"):
            problems.append(f"{name}: inbound {profile.get('DefaultInboundAction')} by default")
    return failed(observed, expected, "; ".join(problems)) if problems else passed(observed, expected)


@check("windows.services.listening-allow-list",
       title="Only allowed TCP services listen on the network",
       requirements=["SR 7.7", "CR 7.7"], applies_to=["host"], severity="medium",
       params={"allowed": ["22/tcp", "135/tcp"], "ignore_loopback": True,
               "rpc_dynamic_processes": ["lsass", "wininit", "services", "svchost", "spoolsv"]},
       remediation=("Stop and disable services that need not listen (`Stop-Service X; Set-Service X -StartupType "
                    "Disabled`, or GPO: Computer Configuration\\Windows Settings\\Security Settings\\System Services), "
                    "or add the port to the profile's `allowed` list with a reason. Verify: "
                    "`Get-NetTCPConnection -State Listen | Sort-Object LocalPort | Select-Object LocalAddress, "
                    "LocalPort, OwningProcess`."))
def listening_allow_list(win_listeners: tuple[Listener, ...], params: dict[str, Any]) -> Verdict:
    """Every listening port is attack surface reachable from the zone; least functionality (CR 7.7) keeps
    only the services the station's role needs. RPC's dynamic ports (49152-65535) of the core system
    processes are part of Windows itself and are not judged."""
    allowed = set(params["allowed"])
    rpc = {p.lower() for p in params["rpc_dynamic_processes"]}
    judged = [listener for listener in win_listeners
              if not (params["ignore_loopback"] and listener.loopback)
              and not (listener.port >= 49152 and listener.process.lower() in rpc)]
    unexpected = sorted({f"{listener.port}/tcp ({listener.process})" for listener in judged
                         if f"{listener.port}/tcp" not in allowed})
    expected = f"only {', '.join(sorted(allowed)) or 'nothing'} listen beyond loopback"
    observed = {"listening": sorted({f"{listener.address}:{listener.port}/tcp ({listener.process})"
                                     for listener in win_listeners})}
    if unexpected:
        return failed(observed, expected, f"not on the allow-list: {', '.join(unexpected)}")
    return passed(observed, expected)
