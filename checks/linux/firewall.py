"""``linux.firewall.*`` checks: the host firewall drops unmatched inbound traffic.

Evidence: :mod:`checks.linux.facts.firewall` (live rule sets, else the persistent configuration), the unit
list and the IPv6 kernel parameters.
"""

from __future__ import annotations

from auditor.registry import check
from checks.linux import EMBEDDED_LINUX
from auditor.verdicts import Verdict, error, failed, manual, passed
from checks.linux.facts.commands import ROOT_HINT
from checks.linux.facts.firewall import Firewall
from checks.linux.facts.systemd import Units


@check("linux.firewall.default-deny",
       title="Host firewall filters inbound traffic with a default-deny policy",
       requirements=["SR 5.1", "SR 7.7", "CR 5.1", "CR 7.7"], applies_to=EMBEDDED_LINUX, severity="high",
       remediation=("Debian/Ubuntu: `ufw default deny incoming && ufw allow 22/tcp && ufw enable`, or nftables with "
                    "`policy drop;` on the input chain in /etc/nftables.conf and `systemctl enable --now nftables`. "
                    "RHEL: `systemctl enable --now firewalld`, keep the interfaces in a zone with target default/"
                    "DROP (not trusted), `firewall-cmd --permanent --remove-service=...` for anything not on the "
                    "allow-list. Allow only the conduits of the zone model."))
def firewall_default_deny(sys_firewall: Firewall, sys_units: Units, sys_sysctl: dict[str, str]) -> Verdict:
    """Least functionality (SR 7.7) and segmentation (SR 5.1) on the host itself: everything not explicitly
    allowed is dropped, so a service started by mistake or by an intruder is not reachable."""
    expected = "an input chain that drops unmatched packets (IPv4 and IPv6), no interface accepted wholesale"
    live = [r for r in sys_firewall.rulesets if r.state == "ok"]
    ipv6_on = sys_sysctl.get("net.ipv6.conf.all.disable_ipv6", "0") != "1" and any(
        k.startswith("net.ipv6.") for k in sys_sysctl)
    if live:
        chains = [c for r in live for c in r.chains]
        open_ifaces = sorted({i for r in live for i in r.open_interfaces})
        deny_v4 = any(c.default == "drop" and "ipv4" in c.families for c in chains)
        deny_v6 = any(c.default == "drop" and "ipv6" in c.families for c in chains)
        seen_v6 = any(r.source in ("nft", "ip6tables") for r in live)
        observed = {"sources": [r.source for r in live],
                    "input_chains": [{"chain": c.label, "policy": c.policy, "default": c.default, "rules": c.rules}
                                     for c in chains],
                    "open_interfaces": open_ifaces, "ipv6_enabled": ipv6_on}
        problems = []
        if not chains:
            problems.append("no input filter chain is loaded (empty rule set)")
        elif not deny_v4:
            problems.append("IPv4 input is accepted by default (policy accept, no final drop/reject)")
        if chains and ipv6_on and seen_v6 and not deny_v6:
            problems.append("IPv6 input is accepted by default")
        if open_ifaces:
            problems.append(f"all traffic accepted on interface(s) {open_ifaces}")
        if problems:
            return failed(observed, expected, "; ".join(problems))
        if ipv6_on and not seen_v6:
            return manual("IPv4 input is denied by default, but IPv6 is enabled and no IPv6 rule set could be read: "
                          "IPv6 input may be open; allow the audit account to run ip6tables/nft (sudo -n) or verify "
                          "by hand", expected, observed)
        return passed(observed, expected, "input default deny via " + ", ".join(r.source for r in live))
    states = {r.source: r.state for r in sys_firewall.rulesets}
    observed = {"tools": states}
    if states.get("nft") == "absent" and states.get("iptables") == "absent":
        return failed(observed, expected, "neither nft nor iptables is installed: no host firewall")
    conf = sys_firewall.config
    observed["config"] = {"ufw_enabled": conf.ufw_enabled, "ufw_input_policy": conf.ufw_input_policy,
                          "firewalld_zone": conf.firewalld_zone, "firewalld_target": conf.firewalld_target,
                          "nftables_conf_policy_drop": conf.nftables_conf_drop}
    # the configuration says what should be loaded, not what is: without the live rules it is no proof
    how = "the live rule set is not readable (" + ROOT_HINT + "); the configuration alone says: "
    if conf.ufw_enabled and conf.ufw_input_policy in ("DROP", "REJECT") and sys_units.is_active("ufw"):
        return manual(how + f"ufw enabled with default input policy {conf.ufw_input_policy}", expected, observed)
    if sys_units.is_active("firewalld") and conf.firewalld_target is not None:
        if conf.firewalld_target.upper() in ("ACCEPT",):
            return failed(observed, expected, f"firewalld default zone {conf.firewalld_zone} has target ACCEPT")
        return manual(how + f"firewalld active, default zone {conf.firewalld_zone} (target {conf.firewalld_target})",
                      expected, observed)
    if sys_units.is_active("nftables") and conf.nftables_conf_drop:
        return manual(how + "nftables.service active with an input policy drop", expected, observed)
    return error("live firewall rules not readable: " + "; ".join(
        f"{r.source} {r.state} ({r.detail})" for r in sys_firewall.rulesets) + f"; {ROOT_HINT}", observed)
