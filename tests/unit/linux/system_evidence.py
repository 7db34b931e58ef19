"""Evidence builders for the Linux *system* checks (every Linux check but sshd, accounts, PAM and sudo:
their requests are those of checks/linux/facts/files.py, systemd.py, packages.py, system.py, filesystem.py,
audit.py, timesync.py, firewall.py and network.py).

``SystemEvidence().out(REQUEST, "output", exit_code)`` records what a command printed;
``.fact(name)`` runs one fact parser through :class:`auditor.facts.FactEvidence` exactly as the
engine does, and ``.check(check_id, **params)`` parses every fact the check needs and calls it
(parser/check failures become ``error`` verdicts, as in :func:`auditor.assessment.evaluate.run_check`).

``recorded_host(distro)`` loads every recorded output of ``recorded/<distro>/`` for the system
requests (files prefixed with the pack's former module names: ``audit_*``, ``integrity_*``, ``network_*``,
``hardening_*``, ``inventory_*``), with the exit codes the real commands give; ``sudo=False`` swaps in what a plain
user sees for the root-only reads. ``fixture_host(name)`` does the same from the SSH simulator's fixtures
(entries keyed by request name, answered as the simulator answers them), so tests also prove the fixtures
give the verdicts they are meant to.

Provenance of ``recorded/*/{audit,integrity,network,hardening,inventory}_*``:

* formats verified on a real Debian 12 VM by running the very commands: ``head -v`` dumps (incl. missing
  files and globs), ``date +%s; stat -c ...`` (``cannot statx`` lines), ``apt-get -s dist-upgrade`` (the
  debian12 file is a real capture, trimmed to 8 packages), ``auditctl -s``/``-l`` (real rules loaded on the
  VM), ``nft list ruleset`` and ``iptables -S`` (in a scratch network namespace), ``ss -ltnu`` (header
  line kept), ``find -printf``, ``od`` on a missing EFI variable, ``lsblk -J`` (util-linux 2.38 style), and
  the "needs root" messages of auditctl/nft/iptables as a plain user;
* the host *contents* (unit lists, package subsets, chronyc tracking, configuration files) and the
  ubuntu2204/rhel9 sets are representative, written in those real formats (systemd 249/252
  ``list-units --plain``, util-linux 2.37 compact ``lsblk -J``, firewalld 1.x nftables ruleset,
  ``dnf -q`` 4.x, chrony 4.x), not captured from real Ubuntu/RHEL hosts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from auditor.evidence import EvidenceItem, EvidenceRequest
from auditor.registry import REGISTRY

import checks.linux  # noqa: F401  (registers the pack)
from checks.linux.facts.audit import AUDIT_RULES, AUDIT_STATUS
from checks.linux.facts.files import FILES, STAT, sysctl_path
from checks.linux.facts.filesystem import BLOCK_DEVICES, WORLD_WRITABLE
from checks.linux.facts.firewall import IPTABLES_RULES, NFT_RULESET
from checks.linux.facts.network import LISTENERS
from checks.linux.facts.packages import APT_SECURITY_LISTS, DNF_CHECK_UPDATE, DNF_SECURITY, DPKG, RPM
from checks.linux.facts.sshd_commands import SESSION_INFO
from checks.linux.facts.system import SECURE_BOOT
from checks.linux.facts.systemd import UNITS
from checks.linux.facts.timesync import CHRONY_TRACKING, TIMEDATE
from tests.support.checks import RunsChecks
from tests.support.ssh_fixture import fixture_answer

RECORDED = Path(__file__).resolve().parent / "recorded"
DISTROS = ("debian12", "ubuntu2204", "rhel9")

#: every command the system modules send, and the recorded file that answers it
SYSTEM_REQUESTS: dict[str, EvidenceRequest] = {
    "files": FILES, "stat": STAT, "units": UNITS, "dpkg": DPKG, "rpm": RPM, "auditctl_s": AUDIT_STATUS,
    "auditctl_l": AUDIT_RULES, "timedatectl": TIMEDATE, "chronyc": CHRONY_TRACKING, "apt": APT_SECURITY_LISTS,
    "dnf_check": DNF_CHECK_UPDATE, "dnf_security": DNF_SECURITY, "secureboot": SECURE_BOOT, "nft": NFT_RULESET,
    "iptables": IPTABLES_RULES, "ss": LISTENERS, "find": WORLD_WRITABLE, "lsblk": BLOCK_DEVICES,
}
SESSION = SESSION_INFO

_RECORDED_FILES = {
    "stat": "inventory_stat.txt", "units": "inventory_units.txt", "dpkg": "inventory_dpkg.txt",
    "rpm": "inventory_rpm.txt", "auditctl_s": "audit_auditctl_s.txt", "auditctl_l": "audit_auditctl_l.txt",
    "timedatectl": "audit_timedatectl.txt", "chronyc": "audit_chronyc_tracking.txt",
    "apt": "integrity_apt_simulate.txt", "dnf_check": "integrity_dnf_check_update.txt",
    "dnf_security": "integrity_dnf_security.txt", "secureboot": "integrity_secureboot.txt",
    "nft": "network_nft.txt", "iptables": "network_iptables.txt", "ss": "network_ss.txt",
    "find": "hardening_find.txt", "lsblk": "hardening_lsblk.txt",
}
_MODULES = ("inventory", "audit", "integrity", "network", "hardening")
_NOT_FOUND = {"dpkg": "dpkg-query", "rpm": "rpm", "apt": "apt-get", "dnf_check": "dnf", "dnf_security": "dnf"}
NOT_ROOT = {
    "auditctl_s": ("You must be root to run this program.\n", 4),
    "auditctl_l": ("You must be root to run this program.\n", 4),
    "nft": ("Operation not permitted (you must be root)\n"
            "netlink: Error: cache initialization failed: Operation not permitted\n", 1),
    "iptables": ("iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be "
                 "root)\n# ip6tables -S\nip6tables v1.8.9 (nf_tables): Could not fetch rule set generation id: "
                 "Permission denied (you must be root)\n", 4),
}


def recorded(distro: str, name: str) -> str:
    return (RECORDED / distro / name).read_text()


def exit_code_for(kind: str, text: str) -> int:
    """The exit code the real command gives for this output."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    if re.search(r"(^|: )\S+: (command )?not found$", first):
        return 127
    if kind == "dnf_check":
        return 100 if text.strip() else 0
    if kind == "secureboot":
        return 1 if "No such file" in text else 0
    if kind == "stat":
        return 1 if "cannot stat" in text else 0
    if kind == "files":
        return 1 if "head: cannot open" in text else 0
    if kind in ("auditctl_s", "auditctl_l") and "must be root" in text:
        return 4
    return 0


class SystemEvidence(RunsChecks):
    """A set of evidence items for one simulated host."""

    def __init__(self) -> None:
        REGISTRY.load()
        self.items: dict[str, EvidenceItem] = {}

    def out(self, req: EvidenceRequest, stdout: str, exit_code: int | None = 0, sudo: bool | None = None
            ) -> "SystemEvidence":
        ran_sudo = bool(req.option("sudo")) if sudo is None else sudo
        self.items[req.key] = EvidenceItem(id=f"t#{len(self.items) + 1}", asset="t", endpoint="ssh", request=req,
                                           exit_code=exit_code, response=stdout, meta={"sudo": ran_sudo})
        return self

    def missing(self, req: EvidenceRequest, stdout: str = "") -> "SystemEvidence":
        """The shell's answer for a program that is not installed."""
        name = req.target.split()[0]
        return self.out(req, stdout or f"sh: 1: {name}: not found\n", 127)

    def failed(self, req: EvidenceRequest, reason: str) -> "SystemEvidence":
        self.items[req.key] = EvidenceItem(id=f"t#{len(self.items) + 1}", asset="t", endpoint="ssh", request=req,
                                           status="error", error=reason)
        return self

    def json(self, req: EvidenceRequest, data: Any) -> "SystemEvidence":
        self.items[req.key] = EvidenceItem(id=f"t#{len(self.items) + 1}", asset="t", endpoint="ssh", request=req,
                                           encoding="json", response=json.dumps(data))
        return self

    def replace(self, kind: str, old: str, new: str) -> "SystemEvidence":
        """Edit one recorded output in place (``kind`` as in SYSTEM_REQUESTS) to build a variant."""
        req = SYSTEM_REQUESTS[kind]
        item = self.items[req.key]
        if old not in item.response:
            raise AssertionError(f"{old!r} not in the {kind} output")
        item.response = item.response.replace(old, new)
        return self

    def _append(self, req: EvidenceRequest, text: str) -> None:
        item = self.items[req.key]
        item.response = (item.response if item.response.endswith("\n") or not item.response
                         else item.response + "\n") + text

    def set_file(self, path: str, content: str | None, error: str = "No such file or directory") -> "SystemEvidence":
        """Override one file of the FILES dump (``None``: head could not open it). Later sections win."""
        if content is None:
            self._append(FILES, f"head: cannot open '{path}' for reading: {error}\n")
        else:
            self._append(FILES, f"\n==> {path} <==\n{content}")
        return self

    def set_sysctl(self, key: str, value: Any) -> "SystemEvidence":
        return self.set_file(sysctl_path(key), f"{value}\n")

    def set_stat(self, path: str, mode: str, owner: str = "root", group: str = "root", kind: str = "regular file",
                 mtime: int = 1718000000) -> "SystemEvidence":
        """Add or override one ``stat`` line (later lines win)."""
        self._append(STAT, f"{mtime}|{mode}|{owner}|{group}|{kind}|{path}\n")
        return self


def recorded_host(distro: str, *, sudo: bool = True) -> SystemEvidence:
    """Every system request answered from ``recorded/<distro>/`` (as root, or as a plain user)."""
    ev = SystemEvidence()
    folder = RECORDED / distro
    files = []
    for module in _MODULES:
        nosudo = folder / f"{module}_files_nosudo.txt"
        path = nosudo if (not sudo and nosudo.exists()) else folder / f"{module}_files.txt"
        files.append(path.read_text())
    text = "".join(f if f.endswith("\n") else f + "\n" for f in files)
    ev.out(FILES, text, exit_code_for("files", text), sudo=sudo)
    for kind, name in _RECORDED_FILES.items():
        req = SYSTEM_REQUESTS[kind]
        path = folder / name
        if kind == "stat" and not sudo and (folder / "inventory_stat_nosudo.txt").exists():
            path = folder / "inventory_stat_nosudo.txt"
        if not path.exists():
            ev.missing(req, f"sh: 1: {_NOT_FOUND.get(kind, req.target.split()[0])}: not found\n")
            continue
        output = path.read_text()
        if not sudo and kind in NOT_ROOT and exit_code_for(kind, output) != 127:
            output, code = NOT_ROOT[kind]
            ev.out(req, output, code, sudo=False)
            continue
        ev.out(req, output, exit_code_for(kind, output), sudo=sudo if req.option("sudo") else False)
    ev.json(SESSION, {"port": 22, "username": "auditor", "sudo": sudo})
    return ev


def fixture_host(fixture: str, *, sudo: bool = True, port: int = 2222) -> SystemEvidence:
    """Every system request answered from the SSH simulator's fixture ``simulators/ssh/fixtures/<fixture>/``,
    by request name, exactly as the simulator answers it (tests/support/ssh_fixture.py)."""
    ev = SystemEvidence()
    for req in SYSTEM_REQUESTS.values():
        answer = fixture_answer(fixture, req, sudo=sudo, port=port)   # MissingAnswer if the fixture lacks it
        ev.out(req, answer.stdout, answer.exit_code, sudo=answer.sudo)
    ev.json(SESSION, {"port": port, "username": "auditor", "sudo": sudo})
    return ev
