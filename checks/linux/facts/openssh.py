"""OpenSSH semantics: compiled-in defaults, keyword classes, value normalisation, config files and
sshd command lines.

Config files are parsed like sshd's global (no connection) parse: keywords case-insensitive, first value
wins, ``Include`` followed (globs as glob(3)), ``Match`` blocks not applied to global values but recorded,
command-line ``-o`` options before the files.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from auditor.facts import FactParseError
from checks.linux.facts.parsing import FileRead
from checks.linux.facts.sshd_commands import DEFAULT_CONFIG

#: OpenSSH 9.x compiled-in defaults (``sshd -T -f /dev/null`` of OpenSSH 9.2p1, the values that
#: matter here). Distribution config files override several (Debian: ``UsePAM yes``,
#: ``KbdInteractiveAuthentication no``, ``X11Forwarding yes``), which is why files are parsed.
OPENSSH_DEFAULTS: dict[str, str] = {
    "port": "22",
    "permitrootlogin": "prohibit-password",
    "passwordauthentication": "yes",
    "kbdinteractiveauthentication": "yes",
    "pubkeyauthentication": "yes",
    "usepam": "no",
    "permitemptypasswords": "no",
    "hostbasedauthentication": "no",
    "ignorerhosts": "yes",
    "permituserenvironment": "no",
    "maxauthtries": "6",
    "maxsessions": "10",
    "maxstartups": "10:30:100",
    "logingracetime": "120",
    "clientaliveinterval": "0",
    "clientalivecountmax": "3",
    "banner": "none",
    "x11forwarding": "no",
    "allowtcpforwarding": "yes",
    "allowagentforwarding": "yes",
    "allowstreamlocalforwarding": "yes",
    "permittunnel": "no",
    "gatewayports": "no",
    "disableforwarding": "no",
    "loglevel": "INFO",
    "authenticationmethods": "any",
    "pubkeyauthoptions": "none",
    "versionaddendum": "none",
    "ciphers": "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,"
               "aes128-gcm@openssh.com,aes256-gcm@openssh.com",
    "macs": "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
            "hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,"
            "umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1",
    "kexalgorithms": "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,"
                     "curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
                     "ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,"
                     "diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,"
                     "diffie-hellman-group14-sha256",
    "hostkeyalgorithms": "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,"
                         "ecdsa-sha2-nistp384-cert-v01@openssh.com,"
                         "ecdsa-sha2-nistp521-cert-v01@openssh.com,"
                         "sk-ssh-ed25519-cert-v01@openssh.com,"
                         "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,"
                         "rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,"
                         "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,"
                         "sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,"
                         "rsa-sha2-512,rsa-sha2-256",
}
OPENSSH_DEFAULTS["pubkeyacceptedalgorithms"] = OPENSSH_DEFAULTS["hostkeyalgorithms"]

#: Keywords that may appear several times and accumulate (``sshd -T`` prints one line per value).
ACCUMULATING = frozenset({"allowusers", "allowgroups", "denyusers", "denygroups", "hostkey", "port",
                          "listenaddress", "acceptenv", "hostcertificate"})
#: Algorithm lists, where ``+``/``-``/``^`` modify the default list.
ALGORITHM_LISTS = frozenset({"ciphers", "macs", "kexalgorithms", "hostkeyalgorithms",
                             "pubkeyacceptedalgorithms", "casignaturealgorithms",
                             "hostbasedacceptedalgorithms"})
TIME_KEYWORDS = frozenset({"logingracetime", "clientaliveinterval"})
#: Values compared case-insensitively (yes/no and enumerations).
ENUM_KEYWORDS = frozenset({
    "permitrootlogin", "passwordauthentication", "kbdinteractiveauthentication", "pubkeyauthentication",
    "usepam", "permitemptypasswords", "hostbasedauthentication", "ignorerhosts", "permituserenvironment",
    "x11forwarding", "allowtcpforwarding", "allowagentforwarding", "allowstreamlocalforwarding",
    "permittunnel", "gatewayports", "disableforwarding", "pubkeyauthoptions", "compression"})
#: Deprecated spellings that OpenSSH maps to the current keyword.
ALIASES = {"challengeresponseauthentication": "kbdinteractiveauthentication",
           "pubkeyacceptedkeytypes": "pubkeyacceptedalgorithms",
           "hostbasedacceptedkeytypes": "hostbasedacceptedalgorithms"}
_TIME_PART = re.compile(r"(\d+)([smhdw]?)", re.IGNORECASE)
_TIME_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def openssh_seconds(text: str) -> int | None:
    """OpenSSH time format (``90``, ``2m``, ``1h30m``) in seconds; None if malformed."""
    text = text.strip().lower()
    if not text or not re.fullmatch(r"(\d+[smhdw]?)+", text):
        return None
    return sum(int(n) * _TIME_UNITS[u] for n, u in _TIME_PART.findall(text))


def apply_algorithm_modifier(value: str, default: str) -> str:
    """Resolve ``+list`` (append), ``-patterns`` (remove) and ``^list`` (prepend) against the default."""
    base = [a for a in default.split(",") if a]
    if value.startswith("+"):
        extra = [a for a in value[1:].split(",") if a and a not in base]
        return ",".join(base + extra)
    if value.startswith("-"):
        patterns = [p for p in value[1:].split(",") if p]
        return ",".join(a for a in base if not any(fnmatch.fnmatchcase(a, p) for p in patterns))
    if value.startswith("^"):
        first = [a for a in value[1:].split(",") if a]
        return ",".join(first + [a for a in base if a not in first])
    return value


def normalize(keyword: str, value: str) -> str:
    """Bring a config-file or command-line value to the form ``sshd -T`` prints."""
    value = value.strip()
    if keyword in ENUM_KEYWORDS:
        value = value.lower()
        if keyword == "permitrootlogin" and value == "without-password":
            value = "prohibit-password"
    elif keyword in TIME_KEYWORDS:
        seconds = openssh_seconds(value)
        value = str(seconds) if seconds is not None else value
    elif keyword == "loglevel":
        value = value.upper()
    elif keyword in ALGORITHM_LISTS and value[:1] in "+-^" and keyword in OPENSSH_DEFAULTS:
        value = apply_algorithm_modifier(value, OPENSSH_DEFAULTS[keyword])
    return value


def tokenize(line: str) -> list[str]:
    """Split an sshd_config line like OpenSSH: whitespace, double quotes, ``#`` ends the line,
    ``Keyword=value`` allowed."""
    tokens: list[str] = []
    current, quoted, started = [], False, False
    for ch in line:
        if quoted:
            if ch == '"':
                quoted = False
            else:
                current.append(ch)
        elif ch == '"':
            quoted, started = True, True
        elif ch.isspace():
            if started:
                tokens.append("".join(current))
                current, started = [], False
        elif ch == "#" and not started:
            break
        else:
            current.append(ch)
            started = True
    if started:
        tokens.append("".join(current))
    if tokens and "=" in tokens[0]:
        keyword, _, rest = tokens[0].partition("=")
        tokens = [keyword] + ([rest] if rest else []) + tokens[1:]
    elif len(tokens) > 1 and tokens[1].startswith("="):
        rest = tokens[1][1:]
        tokens = [tokens[0]] + ([rest] if rest else []) + tokens[2:]
    return tokens


# --------------------------------------------------------------------------------------------
# sshd command lines
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Master:
    """One listening sshd process as ``ps`` showed it."""

    pid: int
    args: str
    binary: str | None
    config: str
    cli_ports: tuple[int, ...]
    cli_options: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        return f"pid {self.pid}: {self.args}"


def parse_master(pid: int, args: str) -> Master:
    """Read ``-f``, ``-p`` and ``-o`` from a master's command line or listener title."""
    tokens = args.split()
    if tokens and tokens[0] == "sshd:":
        tokens = tokens[1:]
    binary = tokens[0] if tokens and tokens[0].startswith("/") else None
    config, ports, options = DEFAULT_CONFIG, [], []
    i = 1
    while i < len(tokens):
        tok = tokens[i]
        if tok == "[listener]":
            break
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if tok in ("-f", "-p", "-o") and nxt is None:
            break
        if tok == "-f":
            config, i = nxt, i + 2  # type: ignore[assignment]
            continue
        if tok.startswith("-f") and len(tok) > 2:
            config = tok[2:]
        elif tok == "-p" or (tok.startswith("-p") and tok[2:].isdigit()):
            value = nxt if tok == "-p" else tok[2:]
            if value and value.isdigit() and len(value) <= 5:  # a port, not a 5,000-digit number
                ports.append(int(value))
            i += 2 if tok == "-p" else 1
            continue
        elif tok == "-o" or tok.startswith("-o"):
            option = nxt if tok == "-o" else tok[2:]
            i += 2 if tok == "-o" else 1
            if option and "=" in option:
                key, _, value = option.partition("=")
            elif option and i < len(tokens) and tokens[i] != "[listener]":
                key, value = option, tokens[i]
                i += 1
            else:
                continue
            key = ALIASES.get(key.lower(), key.lower())
            if key == "port" and value.isdigit() and len(value) <= 5:
                ports.append(int(value))
            elif key == "listenaddress" and address_port(value) is not None:
                ports.append(address_port(value))  # type: ignore[arg-type]
            else:
                options.append((key, normalize(key, value)))
            continue
        i += 1
    return Master(pid=pid, args=args, binary=binary, config=config, cli_ports=tuple(ports),
                  cli_options=tuple(options))


def address_port(address: str) -> int | None:
    """The explicit port of a ListenAddress (``0.0.0.0:2222``, ``[::1]:2222``), else None."""
    address = address.split()[0] if address.split() else address
    if address.startswith("["):
        _, _, rest = address.partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif address.count(":") == 1:
        port = address.split(":")[1]
    else:
        port = ""
    return int(port) if port.isdigit() and len(port) <= 5 else None


# --------------------------------------------------------------------------------------------
# Config files with OpenSSH semantics
# --------------------------------------------------------------------------------------------

@dataclass
class ParsedConfig:
    """Global values (first wins), Match blocks, files used and why the parse cannot be trusted."""

    values: dict[str, list[str]] = field(default_factory=dict)
    match_blocks: list[dict[str, Any]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """glob(3) semantics for matching read paths against an Include pattern: ``*`` stops at ``/``."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1:end].replace("\\", "\\\\")
                out.append(f"[^{body[1:]}]" if body.startswith("!") else f"[{body}]")
                i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out) + r"\Z")


def _include_targets(pattern: str, files: dict[str, FileRead]) -> list[str]:
    if not pattern.startswith("/"):
        pattern = "/etc/ssh/" + pattern
    if not any(ch in pattern for ch in "*?["):
        return [pattern]
    regex = _glob_regex(pattern)
    # a matched file the account cannot read is still part of the configuration: walking it records it as
    # unreadable, so the configuration is never taken as fully read (a 0600 50-cloud-init.conf may say
    # PasswordAuthentication yes)
    matched = sorted(p for p in files if regex.match(p) and (files[p].readable or (
        files[p].error and "No such file" not in files[p].error)))
    # an unmatched glob stays literal in the shell; head then reports why it could not open it
    literal = files.get(pattern)
    if literal is not None and not literal.readable and literal.error and "No such file" not in literal.error:
        matched.append(pattern)
    return matched


def parse_config_tree(main: str, files: dict[str, FileRead], extra: Iterable[tuple[str, str]] = ()
                      ) -> ParsedConfig:
    """Parse ``main`` and its Includes from ``files`` like sshd's global (no connection) parse.

    ``extra`` are command-line ``-o`` options, which precede the files (first value wins).
    """
    result = ParsedConfig()
    for key, value in extra:
        result.values.setdefault(key, []).append(value)
    seen_single: set[str] = set(k for k, _ in extra if k not in ACCUMULATING)

    def walk(path: str, active: bool, block: dict[str, Any] | None, depth: int) -> None:
        if depth > 16:
            raise FactParseError(f"Include nesting deeper than 16 at {path}")
        read = files.get(path)
        if read is None or not read.readable:
            if read is None or (read.error and "No such file" not in read.error):
                result.unreadable.append(f"{path}: {read.error if read else 'not read'}")
            elif depth == 0:
                result.unreadable.append(f"{path}: {read.error}")
            return
        result.files.append(path)
        current_active, current_block = active, block
        for raw in (read.content or "").splitlines():
            tokens = tokenize(raw)
            if not tokens:
                continue
            keyword = ALIASES.get(tokens[0].lower(), tokens[0].lower())
            args = tokens[1:]
            if keyword == "match":
                criteria = " ".join(args)
                if criteria.lower() == "all":
                    current_active, current_block = active, block
                else:
                    current_active = False
                    current_block = {"criteria": criteria, "file": path, "settings": {}}
                    result.match_blocks.append(current_block)
                continue
            if keyword == "include":
                for pattern in args:
                    for target in _include_targets(pattern, files):
                        walk(target, current_active, current_block, depth + 1)
                continue
            if not args:
                continue
            if not current_active:
                if current_block is not None:
                    current_block["settings"].setdefault(keyword, normalize(keyword, " ".join(args)))
                continue
            if keyword in ACCUMULATING:
                bucket = result.values.setdefault(keyword, [])
                for arg in args:
                    if keyword in ("port", "listenaddress") or arg not in bucket:
                        bucket.append(arg)
            elif keyword not in seen_single:
                seen_single.add(keyword)
                result.values[keyword] = [normalize(keyword, " ".join(args))]

    walk(main, True, None, 0)
    return result


_OPENSSH_VERSION = re.compile(r"OpenSSH_(?:for_Windows_)?(\d+)\.(\d+)")


#: Defaults that older OpenSSH releases had, by the release that changed them (newest first): applied when
#: the server announces an older release, so an unset keyword is judged as that server behaves.
OLDER_DEFAULTS: tuple[tuple[tuple[int, int], dict[str, str]], ...] = (
    ((7, 0), {"permitrootlogin": "yes"}),   # 7.0 changed it to prohibit-password
)


def defaults_for(version: tuple[int, int] | None) -> dict[str, str]:
    """The defaults of the OpenSSH release ``version`` (9.x defaults when it is unknown or recent)."""
    defaults = dict(OPENSSH_DEFAULTS)
    if version is not None:
        for changed_in, previous in OLDER_DEFAULTS:
            if version < changed_in:
                defaults.update(previous)
    return defaults


def openssh_version(software: str | None) -> tuple[int, int] | None:
    """(major, minor) of the OpenSSH release a server announces (``OpenSSH_9.2p1 Debian-2``), None if not OpenSSH."""
    match = _OPENSSH_VERSION.search(software or "")
    return (int(match.group(1)), int(match.group(2))) if match else None
