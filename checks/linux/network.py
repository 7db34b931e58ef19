"""``linux.network.*`` checks: IP forwarding and the network kernel parameters.

Evidence: the kernel parameters read from /proc/sys (:func:`checks.linux.facts.system.sys_sysctl`).
"""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from checks.linux import EMBEDDED_LINUX
from auditor.verdicts import Verdict, error, failed, manual, not_applicable, passed
from checks.linux.facts.parsing import to_int


@check("linux.network.ip-forwarding",
       title="IP forwarding disabled (the system does not route between networks)",
       requirements=["SR 5.1", "CR 5.1"], applies_to=EMBEDDED_LINUX, severity="high",
       params={"router": False},
       remediation=("Set `net.ipv4.ip_forward = 0` and `net.ipv6.conf.all.forwarding = 0` in "
                    "/etc/sysctl.d/60-net.conf (Debian/Ubuntu and RHEL), `sysctl --system`. Container runtimes enable "
                    "forwarding: keep them off control hosts or document the host as a router (profile param "
                    "`router: true`)."))
def ip_forwarding(sys_sysctl: dict[str, str], params: dict[str, Any]) -> Verdict:
    """A dual-homed host that forwards packets silently bridges the zones it sits in, bypassing the
    conduit's firewall (network segmentation, SR 5.1)."""
    keys = ("net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding")
    observed = {k: sys_sysctl.get(k) for k in keys}
    if params.get("router"):
        return not_applicable("host is documented as a router (param router: true)", observed)
    if "net.ipv4.ip_forward" not in sys_sysctl:
        return error("net.ipv4.ip_forward could not be read from /proc/sys", observed)
    enabled = [k for k in keys if to_int(sys_sysctl.get(k)) not in (None, 0)]
    if enabled:
        return failed(observed, "forwarding 0", "forwarding enabled: " + ", ".join(enabled))
    return passed(observed, "forwarding 0")


NETWORK_SYSCTLS = {
    "net.ipv4.conf.all.accept_redirects": 0, "net.ipv4.conf.default.accept_redirects": 0,
    "net.ipv6.conf.all.accept_redirects": 0, "net.ipv6.conf.default.accept_redirects": 0,
    "net.ipv4.conf.all.secure_redirects": 0,
    "net.ipv4.conf.all.send_redirects": 0, "net.ipv4.conf.default.send_redirects": 0,
    "net.ipv4.conf.all.accept_source_route": 0, "net.ipv4.conf.default.accept_source_route": 0,
    "net.ipv6.conf.all.accept_source_route": 0,
    "net.ipv4.tcp_syncookies": 1, "net.ipv4.icmp_echo_ignore_broadcasts": 1,
}


@check("linux.network.kernel-parameters",
       title="Network kernel parameters: no redirects or source routing, reverse-path filter, SYN cookies",
       requirements=["SR 5.1", "SR 7.1", "CR 5.1", "CR 7.1"], applies_to=EMBEDDED_LINUX, severity="medium",
       params={"expected": NETWORK_SYSCTLS, "rp_filter_allowed": [1, 2]},
       remediation=("In /etc/sysctl.d/60-net.conf (Debian/Ubuntu and RHEL): `net.ipv4.conf.all.accept_redirects = 0`, "
                    "`net.ipv4.conf.default.accept_redirects = 0`, `net.ipv6.conf.all.accept_redirects = 0`, "
                    "`net.ipv4.conf.all.secure_redirects = 0`, `net.ipv4.conf.all.send_redirects = 0`, "
                    "`net.ipv4.conf.all.accept_source_route = 0`, `net.ipv4.conf.all.rp_filter = 1`, "
                    "`net.ipv4.tcp_syncookies = 1`, `net.ipv4.icmp_echo_ignore_broadcasts = 1`; then "
                    "`sysctl --system`."))
def network_kernel_parameters(sys_sysctl: dict[str, str], params: dict[str, Any]) -> Verdict:
    """ICMP redirects and source routing let a neighbour reroute the host's traffic across zone boundaries
    (SR 5.1); reverse-path filtering drops spoofed sources and SYN cookies keep the host reachable under
    a SYN flood (denial-of-service protection, SR 7.1)."""
    expected_values = params.get("expected") or NETWORK_SYSCTLS
    allowed_rp = [int(v) for v in (params.get("rp_filter_allowed") or [1, 2])]
    expected = ", ".join(f"{k} = {v}" for k, v in expected_values.items()) + f", rp_filter in {allowed_rp}"
    if not sys_sysctl:
        return error("no kernel parameter could be read from /proc/sys")
    observed: dict[str, Any] = {}
    problems = []
    skipped = []
    for key, want in expected_values.items():
        if key not in sys_sysctl:
            skipped.append(key)
            continue
        observed[key] = sys_sysctl[key]
        if to_int(sys_sysctl[key]) != int(want):
            problems.append(f"{key} = {sys_sysctl[key]} (want {want})")
    rp = [to_int(sys_sysctl.get(k)) for k in ("net.ipv4.conf.all.rp_filter", "net.ipv4.conf.default.rp_filter")]
    rp_known = [v for v in rp if v is not None]
    if rp_known:
        effective = max(rp_known)
        observed["rp_filter_effective"] = effective
        if effective not in allowed_rp:
            problems.append(f"reverse-path filter {effective} (want one of {allowed_rp})")
    if skipped:
        observed["not_present"] = skipped
    if problems:
        return failed(observed, expected, "; ".join(problems))
    ipv6_off = not any(k.startswith("net.ipv6.") for k in sys_sysctl)
    unexplained = [k for k in skipped if not (k.startswith("net.ipv6.") and ipv6_off)]
    if unexplained or not rp_known:  # a key the kernel should have but that was not read proves nothing
        missing = unexplained + ([] if rp_known else ["net.ipv4.conf.*.rp_filter"])
        return manual("these kernel parameters could not be read from /proc/sys: " + ", ".join(missing)
                      + "; verify them with 'sysctl'", expected, observed)
    return passed(observed, expected, f"{len(observed) - (1 if skipped else 0)} parameters as expected"
                  + (f"; {len(skipped)} IPv6 parameters absent (IPv6 disabled)" if skipped else ""))
