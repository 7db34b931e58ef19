"""The host firewall: live input filtering from nftables and iptables, and the persistent configuration.

Reads: ``nft list ruleset`` and ``iptables -S``/``ip6tables -S`` (root-only: requested with sudo; when
refused, the ufw/firewalld/nftables configuration files of the shared file dump are judged instead and
the verdict says so).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from auditor.facts import CommandOutput, FactEvidence
from auditor.registry import fact, ssh_exec
from checks.linux.facts.commands import command_state, needs_root
from checks.linux.facts.files import FILES, files_of, texts
from checks.linux.facts.parsing import FileRead, key_values, strip_comments

NFT_RULESET = ssh_exec("nft list ruleset", sudo=True, name="firewall.nft-ruleset")
IPTABLES_RULES = ssh_exec("iptables -S; echo '# ip6tables -S'; ip6tables -S", sudo=True, name="firewall.iptables-rules")


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


def ruleset_from_nft(out: CommandOutput) -> Ruleset:
    state, detail = command_state(out)
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
