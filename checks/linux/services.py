"""``linux.services.*`` checks: listening services against an allow-list, no clear-text legacy services.

Evidence: :mod:`checks.linux.facts.network` (``ss -ltnu``, the audited SSH port), the unit and package lists.
"""

from __future__ import annotations

import re
from typing import Any

from auditor.registry import check
from checks.linux import EMBEDDED_LINUX
from auditor.verdicts import Verdict, error, failed, manual, passed
from checks.linux.facts.network import Listener, Listeners
from checks.linux.facts.packages import Packages
from checks.linux.facts.systemd import Units


def _allowed(spec: str, listener: Listener) -> bool:
    match = re.fullmatch(r"(?:(?P<addr>[^/]+):)?(?P<lo>\d+)(?:-(?P<hi>\d+))?/(?P<proto>tcp|udp)", spec.strip().lower())
    if not match or match["proto"] != listener.proto:
        return False
    low, high = int(match["lo"]), int(match["hi"] or match["lo"])
    if match["addr"] and match["addr"].strip("[]") != listener.address:
        return False
    return low <= listener.port <= high


@check("linux.services.listening-allow-list",
       title="Only allow-listed services listen on network interfaces",
       requirements=["SR 7.7", "CR 7.7"], applies_to=EMBEDDED_LINUX, severity="high",
       params={"allowed": ["22/tcp"], "ignored": ["68/udp", "546/udp"], "ignore_loopback": True,
               "allow_audit_ssh_port": True},
       remediation=("Stop and disable every service that is not required (`systemctl disable --now <unit>`; Debian/"
                    "Ubuntu `apt purge <pkg>`, RHEL `dnf remove <pkg>`), or bind it to 127.0.0.1; then list the "
                    "remaining ports (from the zone/conduit model) in the profile parameter `allowed` "
                    "(e.g. `502/tcp`, `4840/tcp`, `161/udp`)."))
def listening_allow_list(sys_listeners: Listeners, sys_ssh_port: int | None, params: dict[str, Any]) -> Verdict:
    """Least functionality (SR 7.7): each listening socket is attack surface and must correspond to a
    documented conduit of the zone model; anything else is switched off."""
    allowed = [str(a) for a in (params.get("allowed") or [])]
    if params.get("allow_audit_ssh_port", True) and sys_ssh_port:
        allowed.append(f"{sys_ssh_port}/tcp")
    expected = "listeners only on " + ", ".join(dict.fromkeys(allowed)) + (
        " (loopback ignored)" if params.get("ignore_loopback", True) else "")
    if sys_listeners.state == "absent":
        return error(f"ss not available on the host ({sys_listeners.detail})")
    if sys_listeners.state != "ok":
        return error(f"ss failed: {sys_listeners.detail}")
    ignored = [str(i) for i in (params.get("ignored") or [])]   # DHCP client sockets by default
    relevant = [lst for lst in sys_listeners.listeners
                if not (params.get("ignore_loopback", True) and lst.loopback)
                and not any(_allowed(i, lst) for i in ignored)]
    extra = sorted({str(lst) for lst in relevant if not any(_allowed(a, lst) for a in allowed)})
    observed = {"listening": sorted({str(lst) for lst in relevant}), "not_allowed": extra}
    if extra:
        return failed(observed, expected, f"{len(extra)} listener(s) not on the allow-list: " + ", ".join(extra[:10]))
    return passed(observed, expected, f"{len(relevant)} listener(s), all allow-listed")


INSECURE = {
    "telnet": {"packages": ["telnetd", "inetutils-telnetd", "telnetd-ssl", "telnet-server"],
               "units": ["telnet.socket", "telnetd.service", "inetutils-telnetd.service"], "ports": ["23/tcp"]},
    "rsh/rlogin/rexec": {"packages": ["rsh-server", "rsh-redone-server", "rsh-server-compat"],
                         "units": ["rsh.socket", "rlogin.socket", "rexec.socket"],
                         "ports": ["512/tcp", "513/tcp", "514/tcp"]},
    "tftp": {"packages": ["tftpd-hpa", "tftpd", "atftpd", "tftp-server"],
             "units": ["tftp.socket", "tftp.service", "tftpd-hpa.service", "atftpd.service"], "ports": ["69/udp"]},
    "ftp": {"packages": ["vsftpd", "proftpd-basic", "proftpd-core", "proftpd", "pure-ftpd", "ftpd", "inetutils-ftpd"],
            "units": ["vsftpd.service", "proftpd.service", "pure-ftpd.service"], "ports": ["21/tcp"]},
    "inetd/xinetd": {"packages": ["xinetd", "openbsd-inetd", "inetutils-inetd", "rlinetd"],
                     "units": ["xinetd.service", "inetd.service", "openbsd-inetd.service"], "ports": []},
}


@check("linux.services.insecure",
       title="No clear-text legacy services (telnet, rsh/rlogin, tftp, ftp, inetd/xinetd)",
       requirements=["SR 7.7", "CR 7.7", "SR 4.1", "CR 4.1"], applies_to=EMBEDDED_LINUX, severity="high",
       params={"extra_packages": []},
       remediation=("Remove the servers: Debian/Ubuntu `apt purge telnetd inetutils-telnetd rsh-server tftpd-hpa "
                    "vsftpd xinetd openbsd-inetd`; RHEL `dnf remove telnet-server rsh-server tftp-server vsftpd "
                    "xinetd`. "
                    "Use SSH/SFTP instead; where a PLC needs TFTP for firmware, run it only during maintenance."))
def insecure_services(sys_packages: Packages, sys_units: Units, sys_listeners: Listeners,
                      params: dict[str, Any]) -> Verdict:
    """These services send credentials and data in clear text (information confidentiality, SR 4.1) and
    are classic unneeded functionality (SR 7.7)."""
    expected = "no telnet, rsh/rlogin/rexec, tftp, ftp or inetd/xinetd server installed, enabled or listening"
    findings: list[str] = []
    listeners = [lst for lst in sys_listeners.listeners if not lst.loopback]
    for name, spec in INSECURE.items():
        for pkg in sys_packages.any_of(spec["packages"]):
            findings.append(f"{name}: package {pkg} installed")
        for unit in spec["units"]:
            if sys_units.is_active(unit):
                findings.append(f"{name}: {unit} active")
        for lst in listeners:
            if lst.spec in spec["ports"]:
                findings.append(f"{name}: listening on {lst}")
    for pkg in sys_packages.any_of(params.get("extra_packages") or []):
        findings.append(f"package {pkg} installed")
    observed = {"findings": findings, "package_db": sys_packages.manager, "listeners_read": sys_listeners.state}
    if findings:
        return failed(observed, expected, "; ".join(findings[:8]))
    if sys_packages.manager is None and sys_listeners.state != "ok":
        return error("neither the package list nor the listening sockets could be read", observed)
    if sys_packages.manager is None:
        return manual("package list unavailable: only listening ports were checked; verify no telnet/rsh/tftp/ftp "
                      "server is installed", expected, observed)
    if sys_listeners.state != "ok":  # vendor software outside the package manager shows only as a listener
        return manual("no such package or unit, but the listening sockets could not be read, so a server installed "
                      "outside the package manager would go unseen; verify with 'ss -ltnu'", expected, observed)
    return passed(observed, expected)
