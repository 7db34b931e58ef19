"""Linux network exposure: host firewall default deny, IP forwarding and other network kernel
parameters, listening services against an allow-list, and legacy clear-text services.

Reads: ``nft list ruleset`` and ``iptables -S``/``ip6tables -S`` (root-only: requested with sudo; when
refused, the ufw/firewalld/nftables configuration files are judged instead and the verdict says so),
``ss -ltnu`` (no privileges needed without ``-p``), the SSH session info (the port the auditor
itself uses), plus the shared file dump, unit list and package list.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from auditor.facts import CommandOutput, FactEvidence, FactUnavailable
from auditor.registry import check, fact, request, ssh_exec
from auditor.verdicts import Verdict, error, failed, manual, not_applicable, passed
from checks.linux.inventory import (FILES, ROOT_HINT, Packages, Units, files_of, needs_root, strip_comments, texts,
                                    to_int, tool_absent)
from checks.linux.parsing import FileRead, key_values

NFT_RULESET = ssh_exec("nft list ruleset", sudo=True)
IPTABLES_RULES = ssh_exec("iptables -S; echo '# ip6tables -S'; ip6tables -S", sudo=True)
LISTENERS = ssh_exec("ss -ltnu")   # no -H: iproute2 < 4.13 (RHEL 7) lacks it; the header line is skipped
SESSION_INFO = request("ssh", "session", "info")


# --------------------------------------------------------------------------------------------
# nftables / iptables rule sets
# --------------------------------------------------------------------------------------------

@dataclass
class Chain:
    family: str
    table: str
    name: str
    hook: str | None = None
    policy: str | None = None
    rules: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.family} {self.table} {self.name}"


_BLOCK = re.compile(r"^(?P<kind>table|chain|set|map|flowtable|ct\s+\w+|counter|quota|limit|secmark|synproxy)\s+"
                    r"(?P<rest>.*?)\s*\{$")


def parse_nft(text: str) -> list[Chain]:
    """Chains of ``nft list ruleset`` output (tables, chains with hook/policy, one rule per line)."""
    chains: list[Chain] = []
    stack: list[tuple[str, str]] = []
    table: tuple[str, str] | None = None
    chain: Chain | None = None
    pending = 0
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if pending > 0:                       # continuation of a multi-line element list
            pending += line.count("{") - line.count("}")
            continue
        opener = _BLOCK.match(line)
        if opener:
            kind = opener["kind"].split()[0]
            words = opener["rest"].split()
            stack.append((kind, opener["rest"]))
            if kind == "table":
                table = (words[0], words[1]) if len(words) >= 2 else ("ip", words[0] if words else "?")
            elif kind == "chain" and table is not None:
                chain = Chain(table[0], table[1], words[0] if words else "?")
                chains.append(chain)
            continue
        if line == "}" or line == "};":
            if stack:
                kind, _ = stack.pop()
                if kind == "chain":
                    chain = None
                elif kind == "table":
                    table = None
            continue
        balance = line.count("{") - line.count("}")
        if stack and stack[-1][0] == "chain" and chain is not None:
            header = re.search(r"\btype\s+\w+\s+hook\s+(\w+)", line)
            if header:
                chain.hook = header.group(1)
                policy = re.search(r"\bpolicy\s+(\w+)", line)
                chain.policy = policy.group(1) if policy else "accept"
            elif re.match(r"^policy\s+(\w+)", line):
                chain.policy = line.split()[1].rstrip(";")
            else:
                chain.rules.append(line)
        if balance > 0:
            pending = balance
    return chains


_NOISE = re.compile(r"\bcounter(?:\s+packets\s+\d+\s+bytes\s+\d+)?|\bcomment\s+\"[^\"]*\"|"
                    r"\blog(?:\s+prefix\s+\"[^\"]*\")?(?:\s+level\s+\w+)?(?:\s+flags\s+[\w,]+)?(?:\s+group\s+\d+)?|"
                    r"\bmeta\s+nftrace\s+set\s+1|\bhandle\s+\d+$")
_IFACE = re.compile(r"^(?:meta\s+)?(?:iifname|iif)\s+(?P<ifaces>\"[^\"]+\"|\{[^}]*\}|\S+)\s+")


def nft_verdict(rule: str) -> tuple[str, str | None] | None:
    """(kind, target) if ``rule`` is nothing but a verdict (after counters/comments/logging)."""
    text = re.sub(r"\s+", " ", _NOISE.sub(" ", rule)).strip()
    match = re.fullmatch(r"(accept|drop|return|reject(?: with .+)?|queue(?: .+)?|(jump|goto) (\S+))", text)
    if not match:
        return None
    word = match.group(1).split()[0]
    if word in ("jump", "goto"):
        return word, match.group(3)
    return ("drop" if word in ("drop", "reject") else "accept" if word == "queue" else word), None


class _Walker:
    """Follows unconditional verdicts through jumps and gotos: what happens to a packet no rule matches."""

    def __init__(self, chains: list[Chain]):
        self.by_key = {(c.family, c.table, c.name): c for c in chains}

    def fate(self, chain: Chain, depth: int = 0) -> str | None:
        if depth > 32:
            return None
        for rule in chain.rules:
            verdict = nft_verdict(rule)
            if verdict is None:
                continue
            kind, target = verdict
            if kind in ("accept", "drop"):
                return kind
            if kind == "return":
                return None
            sub = self.by_key.get((chain.family, chain.table, target or ""))
            result = self.fate(sub, depth + 1) if sub is not None else None
            if kind == "goto" or result is not None:
                return result
        return None

    def open_interfaces(self, base: Chain) -> list[str]:
        """Interfaces whose packets are accepted outright (``iifname "eth1" accept`` or a jump to an
        accept-all chain, e.g. a firewalld zone with target ACCEPT); loopback excluded."""
        found: list[str] = []
        seen: set[str] = set()
        todo = [base]
        while todo:
            chain = todo.pop()
            if chain.name in seen:
                continue
            seen.add(chain.name)
            for rule in chain.rules:
                text = re.sub(r"\s+", " ", _NOISE.sub(" ", rule)).strip()
                for target in re.findall(r"\b(?:jump|goto) (\S+)", text):
                    sub = self.by_key.get((chain.family, chain.table, target))
                    if sub is not None:
                        todo.append(sub)
                match = _IFACE.match(text + " ")
                if not match:
                    continue
                rest = text[match.end():].strip()
                verdict = nft_verdict(rest)
                if verdict is None:
                    continue
                kind, target = verdict
                opens = kind == "accept"
                if kind in ("jump", "goto"):
                    sub = self.by_key.get((chain.family, chain.table, target or ""))
                    opens = sub is not None and self.fate(sub) == "accept"
                if opens:
                    names = [n.strip(' "') for n in match["ifaces"].strip("{} ").split(",")]
                    found.extend(n for n in names if n and n != "lo")
        return sorted(set(found))


@dataclass(frozen=True)
class InputChain:
    label: str
    families: tuple[str, ...]      # ("ipv4",), ("ipv6",) or both
    policy: str
    default: str                   # accept / drop: fate of a packet no rule matches
    rules: int


@dataclass(frozen=True)
class Ruleset:
    source: str                    # nft / iptables / ip6tables
    state: str                     # ok / absent / needs-root / failed
    detail: str = ""
    chains: tuple[InputChain, ...] = ()
    open_interfaces: tuple[str, ...] = ()


_FAMILIES = {"ip": ("ipv4",), "ip6": ("ipv6",), "inet": ("ipv4", "ipv6"), "bridge": (), "arp": (), "netdev": ()}


def _state(out: CommandOutput) -> tuple[str, str]:
    first = (out.stdout.strip().splitlines() or [""])[0][:200]
    if tool_absent(out):
        return "absent", first
    if needs_root(out):
        return "needs-root", first
    if out.exit_code not in (0, None):
        return "failed", first or f"exit {out.exit_code}"
    return "ok", ""


def ruleset_from_nft(out: CommandOutput) -> Ruleset:
    state, detail = _state(out)
    if state != "ok":
        return Ruleset("nft", state, detail)
    chains = parse_nft(out.stdout)
    walker = _Walker(chains)
    inputs, open_ifaces = [], []
    for chain in chains:
        if chain.hook != "input" or not _FAMILIES.get(chain.family):
            continue
        fate = walker.fate(chain) or (chain.policy or "accept")
        inputs.append(InputChain(chain.label, _FAMILIES[chain.family], chain.policy or "accept",
                                 "drop" if fate in ("drop", "reject") else "accept", len(chain.rules)))
        open_ifaces.extend(walker.open_interfaces(chain))
    return Ruleset("nft", "ok", "", tuple(inputs), tuple(sorted(set(open_ifaces))))


def parse_iptables(text: str, family: str) -> list[Chain]:
    chains: dict[str, Chain] = {}
    for line in text.splitlines():
        try:
            tokens = shlex.split(line)
        except ValueError:
            tokens = line.split()
        if len(tokens) >= 3 and tokens[0] == "-P":
            chains.setdefault(tokens[1], Chain(family, "filter", tokens[1])).policy = tokens[2].lower()
            if tokens[1] == "INPUT":
                chains[tokens[1]].hook = "input"
        elif len(tokens) >= 2 and tokens[0] == "-N":
            chains.setdefault(tokens[1], Chain(family, "filter", tokens[1]))
        elif len(tokens) >= 3 and tokens[0] == "-A":
            chain = chains.setdefault(tokens[1], Chain(family, "filter", tokens[1]))
            chain.rules.append(_iptables_to_nft(tokens[2:]))
    return list(chains.values())


def _iptables_to_nft(args: list[str]) -> str:
    """Rewrite one iptables rule into the tiny nft-like form the walker understands."""
    rest: list[str] = []
    iface = None
    verdict = None
    i = 0
    while i < len(args):
        token = args[i]
        value = args[i + 1] if i + 1 < len(args) else ""
        if token == "-m" and value == "comment":
            i += 2
        elif token == "--comment":
            i += 2
        elif token in ("-i", "--in-interface") and value:
            iface = value
            i += 2
        elif token in ("-j", "--jump", "-g", "--goto") and value:
            target = value
            goto = token in ("-g", "--goto")
            verdict = {"ACCEPT": "accept", "DROP": "drop", "REJECT": "reject", "RETURN": "return"}.get(
                target, f"{'goto' if goto else 'jump'} {target}")
            i += 2
            if target == "REJECT":             # skip --reject-with
                while i < len(args) and args[i].startswith("--reject"):
                    i += 2
            elif target in ("LOG", "NFLOG"):
                verdict = None
                rest.append("log")
                while i < len(args) and args[i].startswith("--"):
                    i += 2
        else:
            rest.append(token)
            i += 1
    if verdict is None:
        return "match " + " ".join(rest) if rest else "log"
    condition = " ".join(rest)
    prefix = f'iifname "{iface}" ' if iface else ""
    return f"{prefix}{condition + ' ' if condition else ''}{verdict}".strip()


def _iptables_part_state(text: str, exit_code: int | None) -> tuple[str, str]:
    """State of one half (iptables or ip6tables) of the combined command's output."""
    if re.search(r"^-P\s+INPUT\b", text, re.M):
        return "ok", ""
    first = (text.strip().splitlines() or [""])[0][:200]
    if re.search(r"(command )?not found", text):
        return "absent", first
    if needs_root(CommandOutput(text, 1)):
        return "needs-root", first
    if not text.strip():
        return ("absent" if exit_code == 127 else "failed"), f"no output (exit {exit_code})"
    return "failed", first


def rulesets_from_iptables(out: CommandOutput) -> list[Ruleset]:
    """``iptables -S`` and ``ip6tables -S`` halves of the combined command, each judged on its own."""
    parts = re.split(r"^# ip6tables -S\s*$", out.stdout, maxsplit=1, flags=re.M)
    halves = [("iptables", parts[0], "ip")]
    halves.append(("ip6tables", parts[1] if len(parts) > 1 else parts[0], "ip6"))
    result = []
    for source, text, family in halves:
        state, detail = _iptables_part_state(text, out.exit_code)
        if len(parts) == 1 and source == "ip6tables" and state == "ok":
            state, detail = "failed", "no ip6tables section in the output"
        if state != "ok":
            result.append(Ruleset(source, state, detail))
            continue
        chains = parse_iptables(text, family)
        walker = _Walker(chains)
        inputs, open_ifaces = [], []
        for chain in chains:
            if chain.hook != "input":
                continue
            fate = walker.fate(chain) or chain.policy or "accept"
            inputs.append(InputChain(f"{source} filter INPUT", _FAMILIES[family], chain.policy or "accept",
                                     "drop" if fate in ("drop", "reject") else "accept", len(chain.rules)))
            open_ifaces.extend(walker.open_interfaces(chain))
        result.append(Ruleset(source, "ok", "", tuple(inputs), tuple(sorted(set(open_ifaces)))))
    return result


@dataclass(frozen=True)
class FirewallConfig:
    """What the persistent configuration says (used only when the live rule set needs root)."""

    ufw_enabled: bool | None
    ufw_input_policy: str | None
    firewalld_zone: str | None
    firewalld_target: str | None
    nftables_conf_drop: bool | None


def parse_firewall_config(files: dict[str, FileRead]) -> FirewallConfig:
    ufw_conf = texts(files, "/etc/ufw/ufw.conf")
    ufw_default = texts(files, "/etc/default/ufw")
    ufw_enabled = key_values(ufw_conf[0][1], separator="=").get("enabled", "").lower() == "yes" if ufw_conf else None
    policy = key_values(ufw_default[0][1], separator="=").get("default_input_policy") if ufw_default else None
    zone = None
    target = None
    fwd = texts(files, "/etc/firewalld/firewalld.conf")
    if fwd:
        zone = key_values(fwd[0][1], separator="=", lower_keys=False).get("DefaultZone") or "public"
        for pattern in (f"/etc/firewalld/zones/{zone}.xml", f"/usr/lib/firewalld/zones/{zone}.xml"):
            xml = texts(files, pattern)
            if xml:
                match = re.search(r"<zone\b[^>]*\btarget=\"([^\"]+)\"", xml[0][1])
                target = match.group(1) if match else "default"
                break
    nft_conf = texts(files, "/etc/nftables.conf", "/etc/sysconfig/nftables.conf")
    nft_drop = None
    if nft_conf:
        body = "\n".join(strip_comments(t) for _, t in nft_conf)
        nft_drop = bool(re.search(r"type\s+filter\s+hook\s+input[^;}]*;\s*policy\s+drop", body))
    return FirewallConfig(ufw_enabled, policy.upper() if policy else None, zone, target, nft_drop)


@dataclass(frozen=True)
class Firewall:
    rulesets: tuple[Ruleset, ...]
    config: FirewallConfig


@fact("sys_firewall", protocol="ssh", requests=[NFT_RULESET, IPTABLES_RULES, FILES])
def sys_firewall(ev: FactEvidence) -> Firewall:
    """Live input filtering from nft and iptables/ip6tables, plus ufw/firewalld/nftables configuration."""
    rulesets = [ruleset_from_nft(ev.command(NFT_RULESET)), *rulesets_from_iptables(ev.command(IPTABLES_RULES))]
    return Firewall(tuple(rulesets), parse_firewall_config(files_of(ev)))


# --------------------------------------------------------------------------------------------
# Listening sockets
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Listener:
    proto: str          # tcp / udp
    address: str
    port: int
    interface: str | None

    @property
    def loopback(self) -> bool:
        if self.interface == "lo":
            return True
        try:
            return ipaddress.ip_address(self.address).is_loopback
        except ValueError:
            return False

    @property
    def spec(self) -> str:
        return f"{self.port}/{self.proto}"

    def __str__(self) -> str:
        address = f"[{self.address}]" if ":" in self.address else self.address
        return f"{address}{'%' + self.interface if self.interface else ''}:{self.port}/{self.proto}"


_SS_LINE = re.compile(r"^(?P<netid>tcp|udp|tcp6|udp6)\s+(?P<state>\S+)\s+\d+\s+\d+\s+(?P<local>\S+)\s+(?P<peer>\S+)")


def parse_listeners(text: str) -> list[Listener]:
    listeners: list[Listener] = []
    for line in text.splitlines():
        match = _SS_LINE.match(line.strip())
        if not match or match["state"] not in ("LISTEN", "UNCONN"):
            continue
        local = match["local"]
        host, sep, port = local.rpartition(":")
        if not sep or not re.fullmatch(r"[0-9]{1,5}", port):
            continue
        interface = None
        if "%" in host:
            host, _, interface = host.partition("%")
        host = host.strip("[]")
        if host == "":
            host = "*"
        listeners.append(Listener(match["netid"].rstrip("6"), host, int(port), interface or None))
    return listeners


@dataclass(frozen=True)
class Listeners:
    state: str                   # ok / absent / failed
    listeners: tuple[Listener, ...] = ()
    detail: str = ""


@fact("sys_listeners", protocol="ssh", requests=[LISTENERS])
def sys_listeners(ev: FactEvidence) -> Listeners:
    """Listening TCP and bound UDP sockets from ``ss -ltnu`` (no process names: no root needed)."""
    out = ev.command(LISTENERS)
    state, detail = _state(out)
    if state != "ok":
        return Listeners(state, (), detail)
    return Listeners("ok", tuple(parse_listeners(out.stdout)))


@fact("sys_ssh_port", protocol="ssh", requests=[SESSION_INFO])
def sys_ssh_port(ev: FactEvidence) -> int | None:
    """The TCP port the auditor's own SSH session used (None when the session info is missing)."""
    try:
        info = ev.data(SESSION_INFO)
    except (FactUnavailable, ValueError, TypeError):
        return None
    port = info.get("port") if isinstance(info, dict) else None
    return port if isinstance(port, int) and 0 < port < 65536 else None


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------

@check("linux.firewall.default-deny",
       title="Host firewall filters inbound traffic with a default-deny policy",
       requirements=["SR 5.1", "SR 7.7", "CR 5.1", "CR 7.7"], applies_to=["host"], severity="high",
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
        note = "" if seen_v6 or not ipv6_on else " (IPv6 rule set not readable)"
        return passed(observed, expected, "input default deny via " + ", ".join(r.source for r in live) + note)
    states = {r.source: r.state for r in sys_firewall.rulesets}
    observed = {"tools": states}
    if states.get("nft") == "absent" and states.get("iptables") == "absent":
        return failed(observed, expected, "neither nft nor iptables is installed: no host firewall")
    conf = sys_firewall.config
    observed["config"] = {"ufw_enabled": conf.ufw_enabled, "ufw_input_policy": conf.ufw_input_policy,
                          "firewalld_zone": conf.firewalld_zone, "firewalld_target": conf.firewalld_target,
                          "nftables_conf_policy_drop": conf.nftables_conf_drop}
    how = "live rule set not readable (" + ROOT_HINT + "); judged from configuration: "
    if conf.ufw_enabled and conf.ufw_input_policy in ("DROP", "REJECT") and sys_units.is_active("ufw"):
        return passed(observed, expected, how + f"ufw enabled with default input policy {conf.ufw_input_policy}")
    if sys_units.is_active("firewalld") and conf.firewalld_target is not None:
        if conf.firewalld_target.upper() in ("ACCEPT",):
            return failed(observed, expected, f"firewalld default zone {conf.firewalld_zone} has target ACCEPT")
        return passed(observed, expected, how + f"firewalld active, default zone {conf.firewalld_zone} "
                      f"(target {conf.firewalld_target})")
    if sys_units.is_active("nftables") and conf.nftables_conf_drop:
        return passed(observed, expected, how + "nftables.service active with an input policy drop")
    return error("live firewall rules not readable: " + "; ".join(
        f"{r.source} {r.state} ({r.detail})" for r in sys_firewall.rulesets) + f"; {ROOT_HINT}", observed)


@check("linux.network.ip-forwarding",
       title="IP forwarding disabled (the host does not route between networks)",
       requirements=["SR 5.1", "CR 5.1"], applies_to=["host"], severity="high",
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
       requirements=["SR 5.1", "SR 7.1", "CR 5.1", "CR 7.1"], applies_to=["host"], severity="medium",
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
    return passed(observed, expected, f"{len(observed) - (1 if skipped else 0)} parameters as expected"
                  + (f"; {len(skipped)} not present (IPv6 disabled?)" if skipped else ""))


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
       requirements=["SR 7.7", "CR 7.7"], applies_to=["host"], severity="high",
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
       requirements=["SR 7.7", "CR 7.7", "SR 4.1", "CR 4.1"], applies_to=["host"], severity="high",
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
    return passed(observed, expected)
