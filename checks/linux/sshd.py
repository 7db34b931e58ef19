"""OpenSSH server (sshd) of a Linux host: the instance that serves the audited port, and its checks.

Which daemon is judged
----------------------
A host may run several sshd instances (a second daemon with ``-f /etc/ssh/alt.conf`` for a
maintenance network, a container's sshd, a test daemon). The checks judge the instance that
serves the port the auditor connected to (``port`` of the ``ssh:session:info`` item):

1. the listening sshd *master* processes are found in ``ps`` (their title looks like
   ``sshd: /usr/sbin/sshd -D -f /etc/ssh/alt.conf [listener] 0 of 10-100 startups``; older
   releases show the plain command line ``/usr/sbin/sshd -D``);
2. each master's ports come from its command line (``-p PORT``, ``-o Port=N``), else from the
   ``Port``/``ListenAddress`` lines of its configuration, else 22;
3. the master serving the audited port is chosen; a single master that does not provably serve it
   is used with a note (NAT, port forwarding); several masters of which none provably matches are
   an error that lists them.

Where the configuration comes from (recorded as ``source`` in every observation)
--------------------------------------------------------------------------------
1. ``sshd -T -f CONFIG`` of that instance (needs root, so its request is ``sudo=True``), with the
   master's own ``-o``/``-p`` options applied on top (sshd gives command-line options precedence);
2. else the configuration files read directly (the main file plus ``Include``'d files, globs
   expanded on the target), parsed with OpenSSH semantics (keywords case-insensitive, first value
   wins, ``Match`` blocks not applied to global values but recorded) with OpenSSH 9.x defaults for
   unset keywords;
3. else the fact is unavailable, with a reason telling the user to allow ``sudo -n`` (or to make
   the configuration readable). Checks that can also judge what the server shows on the wire
   (offered algorithms, offered authentication methods, pre-authentication banner) take the
   ``*_maybe`` variants of the facts and still decide from the wire, saying so.

Two commands carry all of this (both strictly read-only; see :data:`SSHD_EFFECTIVE_COMMAND` and
:data:`SSHD_FILES_COMMAND`). ``ps`` lines are filtered on the target so that the command lines of
unrelated processes (which may hold secrets) never enter the evidence.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from auditor.evidence import EvidenceRequest
from auditor.facts import FactEvidence, FactParseError, FactUnavailable
from auditor.registry import check, fact, request, ssh_exec
from auditor.verdicts import Verdict, error, failed, manual, passed
from checks.linux.parsing import FileRead, parse_files

# --------------------------------------------------------------------------------------------
# Optional facts: the same parser registered twice, once raising, once returning Missing
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Missing:
    """Stands in for a fact whose evidence is unavailable, for checks that can decide without it.

    Falsy, so checks can write ``if not wire: ...``; ``reason`` says why it is missing.
    """

    reason: str

    def __bool__(self) -> bool:
        return False


def fact_with_optional(name: str, *, protocol: str, requests: Iterable[EvidenceRequest],
                       description: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``parser`` as fact ``name`` and as ``name + "_maybe"``.

    ``name`` raises :class:`FactUnavailable`/:class:`FactParseError` as usual (a check taking it
    becomes ``error``); ``name_maybe`` returns :class:`Missing` instead, for checks that can still
    decide from other evidence (e.g. what sshd offers on the wire when its config is unreadable).
    """
    requests = tuple(requests)

    def register(parser: Callable[..., Any]) -> Callable[..., Any]:
        fact(name, protocol=protocol, requests=requests, description=description)(parser)

        def maybe(evidence: FactEvidence) -> Any:
            try:
                return parser(evidence)
            except (FactUnavailable, FactParseError) as exc:
                return Missing(f"{type(exc).__name__}: {exc}")

        maybe.__name__ = f"{parser.__name__}_maybe"
        maybe.__qualname__ = maybe.__name__
        maybe.__module__ = parser.__module__
        maybe.__doc__ = f"{(parser.__doc__ or name).strip().splitlines()[0]} (Missing when unavailable)"
        fact(f"{name}_maybe", protocol=protocol, requests=requests,
             description=maybe.__doc__)(maybe)
        return parser

    return register


# --------------------------------------------------------------------------------------------
# The commands (built from small documented pieces; the strings are the requests' identity,
# simulator fixtures copy them verbatim)
# --------------------------------------------------------------------------------------------

#: Marker that starts every section line the sshd commands print.
MARK = "@@iacs"
#: The only sshd executables the (sudo'ed) command runs: the master's own binary when it is one of
#: these, else the first that exists. A path taken from ``ps`` is never executed as root otherwise.
SSHD_BINARIES = ("/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd", "/usr/bin/sshd")
DEFAULT_CONFIG = "/etc/ssh/sshd_config"
DEFAULT_HOST_KEYS = ("/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ecdsa_key",
                     "/etc/ssh/ssh_host_ed25519_key")

# The inner scripts are written without single quotes so that ``sh -c '...'`` stays readable;
# awk programs are in double quotes, so ``$`` and ``"`` inside them are escaped for the shell.

#: awk filter keeping only sshd *listener* processes from ``ps -eo uid=,pid=,args=``: the plain
#: command line (``/usr/sbin/sshd -D``) or the listener title (``sshd: /usr/sbin/sshd -D
#: [listener] ...``); per-connection children (``sshd: alice@pts/0``), re-exec'ed children (-R),
#: inetd-mode (-i) and test runs (-t/-T/-G) are dropped. Only processes of uid 0 count: anyone can
#: set a process title, and a forged "master" with ``-f /etc/shadow`` must never make the sudo'ed
#: ``sshd -T`` echo a protected file. Prints ``@@iacs master PID ARGS``.
_AWK_MASTERS = (
    r'awk "\$1 == 0 && (\$3 ~ /(^|\/)sshd\$/ || (\$3 == \"sshd:\" && (\$4 ~ /^\// || /\[listener\]/)))'
    rf' && !/ -[RTGit]( |\$)/ {{sub(/^ *0 +/, \"\"); print \"{MARK} master \" \$0}}"')
#: awk turning a master line into ``CONFIG BINARY`` (``-f FILE`` or the default; ``-`` when the
#: command line names no absolute executable path).
_AWK_CONFIG_OF_MASTER = (
    r'awk "{b=\$4; i=5; if (b == \"sshd:\") {b=\$5; i=6}; c=\"' + DEFAULT_CONFIG + r'\";'
    r' for (; i <= NF; i++) {if (\$i == \"[listener]\") break;'
    r' if (\$i == \"-f\" && i < NF) c=\$(i+1); else if (\$i ~ /^-f./) c=substr(\$i, 3)};'
    r' if (b !~ /^\//) b=\"-\"; print c, b}"')

#: Prints the master lines and sets ``P`` to the distinct ``CONFIG BINARY`` pairs (the default
#: config when no master is visible: socket activation, hidepid, containers).
_DISCOVER = "; ".join([
    f'command -v ps >/dev/null 2>&1 || echo "{MARK} no-ps"',
    f"M=$(ps -ww -eo uid=,pid=,args= | {_AWK_MASTERS})",
    '[ -z "$M" ] || printf "%s\\n" "$M"',
    f'P=$(printf "%s\\n" "$M" | grep "^{MARK} master " | {_AWK_CONFIG_OF_MASTER} | sort -u)',
    f'[ -n "$P" ] || P="{DEFAULT_CONFIG} -"',
])

#: Per pair: ``@@iacs sshd-T cfg=C bin=B``, the ``sshd -T -f C`` output, ``@@iacs exit RC``, then
#: ``@@iacs hostkey PATH`` + ``ssh-keygen -l`` of each HostKey and ``@@iacs banner PATH`` + its text.
_SSHD_T_PER_CONFIG = "; ".join([
    'printf "%s\\n" "$P" | while read -r c b; do s=""',
    f'case "$b" in {"|".join(SSHD_BINARIES)}) ;; *) b="";; esac',
    f'for x in $b {" ".join(SSHD_BINARIES)}; do if [ -x "$x" ]; then s=$x; break; fi; done',
    f'echo "{MARK} sshd-T cfg=$c bin=${{s:-none}}"',
    f'if [ -z "$s" ]; then echo "{MARK} exit 127"; continue; fi',
    'T=$("$s" -T -f "$c" 2>&1); r=$?',
    'printf "%s\\n" "$T"',
    f'echo "{MARK} exit $r"',
    f'for k in $(printf "%s\\n" "$T" | awk "\\$1 == \\"hostkey\\" {{print \\$2}}"); do'
    f' echo "{MARK} hostkey $k"; ssh-keygen -l -f "$k.pub" 2>&1; done',
    'n=$(printf "%s\\n" "$T" | awk "\\$1 == \\"banner\\" && \\$2 != \\"none\\" {print \\$2; exit}")',
    f'if [ -n "$n" ]; then echo "{MARK} banner $n"; head -c 4096 -- "$n" 2>&1; echo; fi',
    "done",
])

#: Per config: ``@@iacs config C``, ``head -v`` of C and, breadth first up to 16 levels, of every
#: Include'd file (globs expanded by the shell, relative names under /etc/ssh, quotes stripped), then
#: host key fingerprints and banner files named in those files (the default host keys if none).
_READ_CONFIG_TREE = "; ".join([
    f'for c in $(printf "%s\\n" "$P" | awk "{{print \\$1}}" | sort -u); do echo "{MARK} config $c"',
    'todo=$c; seen=" "; d=0',
    'while [ -n "$todo" ] && [ $d -lt 16 ]; do next=""',
    'for f in $todo; do case "$seen" in *" $f "*) continue;; esac; seen="$seen$f "',
    "head -v -n 100000 -- \"$f\" 2>&1",
    'for i in $(awk "tolower(\\$1) == \\"include\\" {for (j = 2; j <= NF; j++) print \\$j}" "$f"'
    ' 2>/dev/null | tr -d \\"); do case $i in /*) ;; *) i=/etc/ssh/$i;; esac; next="$next $i"; done',
    "done",
    "todo=$next; d=$((d+1)); done",
    'k=$(cat $seen 2>/dev/null | awk "tolower(\\$1) == \\"hostkey\\" {print \\$2}")',
    f'[ -n "$k" ] || k="{" ".join(DEFAULT_HOST_KEYS)}"',
    f'for x in $k; do echo "{MARK} hostkey $x"; ssh-keygen -l -f "$x.pub" 2>&1; done',
    'for x in $(cat $seen 2>/dev/null | awk "tolower(\\$1) == \\"banner\\" && tolower(\\$2) != \\"none\\"'
    ' {print \\$2}" | sort -u); do'
    f' echo "{MARK} banner $x"; head -c 4096 -- "$x" 2>&1; echo; done',
    "done",
])


def _sh(script: str) -> str:
    """``sh -c '<script>'``: one command, whether the connector prefixes ``sudo -n`` or wraps it."""
    if "'" in script:
        raise ValueError("sshd command scripts must not contain single quotes")
    return f"sh -c '{script}'"


#: Discovers the sshd masters and prints, per distinct config file, ``sshd -T -f FILE`` plus the
#: host key fingerprints and the banner file it names. Needs root for ``sshd -T``.
SSHD_EFFECTIVE_COMMAND = _sh(f"{_DISCOVER}; {_SSHD_T_PER_CONFIG}")
#: Discovers the sshd masters and prints each config file with its Include'd files (``head -v``
#: headers), then host key fingerprints and banner files named there. Works unprivileged when the
#: files are readable.
SSHD_FILES_COMMAND = _sh(f"{_DISCOVER}; {_READ_CONFIG_TREE}")

SSHD_EFFECTIVE = ssh_exec(SSHD_EFFECTIVE_COMMAND, sudo=True)
SSHD_FILES = ssh_exec(SSHD_FILES_COMMAND)
SESSION_INFO = request("ssh", "session", "info")
WIRE_KEXINIT = request("ssh", "wire", "kexinit")

# --------------------------------------------------------------------------------------------
# OpenSSH semantics: defaults, keyword classes, value normalisation
# --------------------------------------------------------------------------------------------

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
_KEYWORD = re.compile(r"^[a-z][a-z0-9]*$")


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
# Sections of the command outputs
# --------------------------------------------------------------------------------------------


@dataclass
class _Section:
    kind: str
    arg: str
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _sections(output: str) -> list[_Section]:
    """Split a command output into ``@@iacs KIND ARG`` sections (text before the first is dropped)."""
    sections: list[_Section] = []
    for line in output.splitlines():
        if line.startswith(MARK + " "):
            kind, _, arg = line[len(MARK) + 1:].partition(" ")
            sections.append(_Section(kind, arg))
        elif sections:
            sections[-1].lines.append(line)
    return sections


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
            if value and value.isdigit():
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
            if key == "port" and value.isdigit():
                ports.append(int(value))
            elif key == "listenaddress" and _address_port(value) is not None:
                ports.append(_address_port(value))  # type: ignore[arg-type]
            else:
                options.append((key, normalize(key, value)))
            continue
        i += 1
    return Master(pid=pid, args=args, binary=binary, config=config, cli_ports=tuple(ports),
                  cli_options=tuple(options))


def _address_port(address: str) -> int | None:
    """The explicit port of a ListenAddress (``0.0.0.0:2222``, ``[::1]:2222``), else None."""
    address = address.split()[0] if address.split() else address
    if address.startswith("["):
        _, _, rest = address.partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif address.count(":") == 1:
        port = address.split(":")[1]
    else:
        port = ""
    return int(port) if port.isdigit() else None


def _masters(sections: list[_Section]) -> list[Master]:
    found: list[Master] = []
    for section in sections:
        if section.kind != "master":
            continue
        pid, _, args = section.arg.strip().partition(" ")
        if not pid.isdigit() or not args.strip():
            raise FactParseError(f"unexpected sshd process line: {section.arg!r}")
        found.append(parse_master(int(pid), args.strip()))
    return found


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
    matched = sorted(p for p in files if regex.match(p) and files[p].readable)
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


# --------------------------------------------------------------------------------------------
# The effective configuration of the audited instance
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SshdConfig:
    """The audited sshd instance's effective global configuration and where it came from."""

    values: dict[str, tuple[str, ...]]
    source: str
    instance: dict[str, Any]
    files: tuple[str, ...] = ()
    match_blocks: tuple[dict[str, Any], ...] = ()
    defaulted: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    host_keys: tuple[dict[str, Any], ...] = ()
    banner_files: tuple[tuple[str, str | None], ...] = ()

    def get(self, keyword: str, default: str | None = None) -> str | None:
        values = self.values.get(keyword)
        return values[0] if values else default

    def all(self, keyword: str) -> list[str]:
        return list(self.values.get(keyword, ()))

    def number(self, keyword: str) -> int | None:
        value = self.get(keyword)
        if value is None:
            return None
        seconds = openssh_seconds(value) if keyword in TIME_KEYWORDS else None
        if seconds is not None:
            return seconds
        return int(value) if value.strip().isdigit() else None

    def algorithms(self, keyword: str) -> list[str]:
        value = self.get(keyword) or ""
        return [a for a in value.split(",") if a]

    def banner_text(self, path: str) -> str | None:
        return dict(self.banner_files).get(path)

    def overrides(self, *keywords: str) -> list[dict[str, str]]:
        """Match blocks that set any of ``keywords``: ``[{"match": criteria, keyword: value}]``."""
        found = []
        for block in self.match_blocks:
            settings = {k: v for k, v in block["settings"].items() if k in keywords}
            if settings:
                found.append({"match": block["criteria"], **settings})
        return found

    def basis(self) -> dict[str, Any]:
        """Where the values came from, for every observation."""
        basis: dict[str, Any] = {"effective": self.source, "instance": self.instance["summary"]}
        if self.match_blocks:
            basis["match_blocks"] = [b["criteria"] for b in self.match_blocks]
        if self.notes:
            basis["notes"] = list(self.notes)
        return basis


def _t_values(text: str) -> dict[str, list[str]]:
    """``sshd -T`` lines (lower-case ``keyword value``); older releases' keyword spellings are mapped."""
    values: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        if _KEYWORD.match(key) and value:
            values.setdefault(key, []).append(normalize(key, value) if key in ENUM_KEYWORDS else value)
    for old, new in ALIASES.items():
        if old in values and new not in values:
            values[new] = values[old] if new not in ENUM_KEYWORDS else [normalize(new, v) for v in values[old]]
    return values


def _host_keys(sections: list[_Section], wanted: list[str] | None) -> list[dict[str, Any]]:
    keys = []
    for section in sections:
        if section.kind != "hostkey" or (wanted is not None and section.arg not in wanted):
            continue
        entry: dict[str, Any] = {"path": section.arg}
        match = next((m for m in (re.match(r"^(\d+)\s+(\S+)\s.*\((\S+)\)\s*$", ln) for ln in section.lines)
                      if m), None)
        if match:
            entry.update(bits=int(match.group(1)), fingerprint=match.group(2), type=match.group(3).upper())
        else:
            entry["error"] = section.text.strip()[:200] or "no output"
        if entry not in keys:
            keys.append(entry)
    return keys


def _banners(sections: list[_Section]) -> list[tuple[str, str | None]]:
    found = []
    for section in sections:
        if section.kind != "banner":
            continue
        text = section.text
        unreadable = re.match(r"^head: cannot open '.*' for reading: .*$", text.strip())
        found.append((section.arg, None if unreadable else text.rstrip("\n") + ("\n" if text.strip() else "")))
    return found


def _config_ports(values: dict[str, list[str]] | dict[str, tuple[str, ...]]) -> list[int]:
    ports = [int(p) for p in values.get("port", ()) if str(p).isdigit()]
    ports += [p for p in (_address_port(a) for a in values.get("listenaddress", ())) if p is not None]
    return sorted(set(ports))


def _session_port(evidence: FactEvidence) -> tuple[int | None, str | None]:
    try:
        info = evidence.data(SESSION_INFO)
    except FactUnavailable as exc:
        return None, str(exc)
    if isinstance(info, dict) and isinstance(info.get("port"), int):
        return info["port"], None
    return None, "ssh:session:info has no integer 'port'"


def _command_output(evidence: FactEvidence, req: EvidenceRequest) -> tuple[str | None, bool, str | None]:
    """(stdout, ran under sudo, problem) of a command; stdout None when it was not collected."""
    try:
        out = evidence.command(req)
    except FactUnavailable as exc:
        return None, False, str(exc)
    if out.exit_code == 127 and MARK not in out.stdout:
        return None, out.sudo, f"command not found on the target: {out.stdout.strip()[:200]}"
    return out.stdout, out.sudo, None


_SUDO_HINT = ("allow the audit user to run it with 'sudo -n' (e.g. a sudoers rule for the audit account) "
              "so that 'sshd -T' can print the effective configuration, or make the sshd config files "
              "readable by the audit user")


@fact_with_optional("sshd_config", protocol="ssh", requests=[SSHD_EFFECTIVE, SSHD_FILES, SESSION_INFO])
def sshd_config(evidence: FactEvidence) -> SshdConfig:
    """Effective global configuration of the sshd instance that serves the audited port."""
    eff_out, eff_sudo, eff_problem = _command_output(evidence, SSHD_EFFECTIVE)
    files_out, _, files_problem = _command_output(evidence, SSHD_FILES)
    if eff_out is None and files_out is None:
        raise FactUnavailable(f"no sshd evidence: {eff_problem}; {files_problem}")
    eff_sections = _sections(eff_out or "")
    file_sections = _sections(files_out or "")
    if not eff_sections and not file_sections:
        raise FactParseError("sshd commands printed none of their section markers: "
                             + ((eff_out or files_out or "").strip()[:200] or "(empty output)"))
    notes: list[str] = []
    masters = _masters(eff_sections) or _masters(file_sections)

    # ---- per config file: `sshd -T` output (if it worked) and the parsed config files
    t_by_config: dict[str, tuple[dict[str, list[str]], _Section, list[_Section]]] = {}
    t_errors: dict[str, str] = {}
    for index, section in enumerate(eff_sections):
        if section.kind != "sshd-T":
            continue
        match = re.match(r"^cfg=(.*) bin=(.*)$", section.arg)
        if not match:
            continue
        cfg = match.group(1)
        tail = eff_sections[index + 1:]
        end = next((i for i, s in enumerate(tail) if s.kind in ("sshd-T",)), len(tail))
        following = tail[:end]
        rc = next((s.arg.strip() for s in following if s.kind == "exit"), "?")
        values = _t_values(section.text)
        if rc == "0" and "permitrootlogin" in values:
            t_by_config.setdefault(cfg, (values, section, following))
        else:
            first = next((ln for ln in section.lines if ln.strip()), "(no output)")
            t_errors[cfg] = f"sshd -T exit {rc}{'' if eff_sudo else ' (not run under sudo)'}: {first.strip()[:160]}"

    files_by_config: dict[str, tuple[dict[str, FileRead], list[_Section]]] = {}
    for index, section in enumerate(file_sections):
        if section.kind != "config":
            continue
        tail = file_sections[index + 1:]
        end = next((i for i, s in enumerate(tail) if s.kind == "config"), len(tail))
        files_by_config[section.arg.strip()] = (parse_files(section.text), tail[:end])

    def parsed_files(cfg: str, extra: Iterable[tuple[str, str]] = ()) -> ParsedConfig | None:
        if cfg not in files_by_config:
            return None
        return parse_config_tree(cfg, files_by_config[cfg][0], extra)

    # ---- which master serves the audited port
    port, port_problem = _session_port(evidence)
    candidates: list[tuple[Master, list[int], str]] = []
    for master in masters:
        if master.cli_ports:
            ports, how = list(master.cli_ports), "command line"
        elif master.config in t_by_config:
            ports, how = _config_ports(t_by_config[master.config][0]), "sshd -T"
        else:
            tree = parsed_files(master.config)
            if tree is not None and not tree.unreadable:
                ports, how = _config_ports(tree.values) or [22], "config files"
            else:
                ports, how = [22], "default (config not readable)"
        candidates.append((master, ports or [22], how))

    if not masters:
        chosen = Master(pid=0, args="(none visible)", binary=None, config=DEFAULT_CONFIG, cli_ports=(),
                        cli_options=())
        chosen_ports, how = [], "none"
        notes.append("no listening sshd master process was visible in ps (socket activation, hidepid or a "
                     f"container); judged the default configuration {DEFAULT_CONFIG}")
        if any(s.kind == "no-ps" for s in eff_sections + file_sections):
            notes.append("ps is not installed on the target")
    else:
        matching = [c for c in candidates if port is not None and port in c[1]]
        configs = {c[0].config for c in matching}
        if len(matching) >= 1 and len(configs) == 1:
            chosen, chosen_ports, how = matching[0]
            if len(matching) > 1:
                notes.append(f"{len(matching)} sshd masters serve port {port} with the same config; "
                             f"judged pid {chosen.pid}")
        elif len(matching) > 1:
            raise FactParseError(
                f"several sshd masters with different configs serve port {port}: "
                + "; ".join(f"{m.describe()} (ports {p} from {h})" for m, p, h in matching))
        elif len(candidates) == 1:
            chosen, chosen_ports, how = candidates[0]
            if port is None:
                notes.append(f"audited port unknown ({port_problem}); judged the only sshd master")
            else:
                notes.append(f"the only sshd master listens on {chosen_ports} ({how}), not on the audited "
                             f"port {port} (NAT or port forwarding?); judged it")
        else:
            raise FactUnavailable(
                f"none of the {len(candidates)} sshd masters provably serves the audited port "
                f"{port if port is not None else '(unknown: ' + str(port_problem) + ')'}: "
                + "; ".join(f"{m.describe()} (ports {p} from {h})" for m, p, h in candidates))

    instance = {"pid": chosen.pid, "args": chosen.args, "config": chosen.config, "ports": chosen_ports,
                "ports_from": how, "audited_port": port,
                "summary": f"{chosen.config} (sshd pid {chosen.pid}, ports {chosen_ports} from {how})"
                if chosen.pid else f"{chosen.config} (no listener visible)"}
    if chosen.cli_options:
        instance["command_line_options"] = {k: v for k, v in chosen.cli_options}

    tree = parsed_files(chosen.config, chosen.cli_options)
    match_blocks: tuple[dict[str, Any], ...] = ()
    if tree is not None and not tree.unreadable:
        match_blocks = tuple(tree.match_blocks)

    # ---- (1) sshd -T
    if chosen.config in t_by_config:
        values, _section, following = t_by_config[chosen.config]
        for key, value in chosen.cli_options:  # the master's -o options win over its config file
            values[key] = [value] if key not in ACCUMULATING else [value] + values.get(key, [])
        if chosen.cli_ports:
            values["port"] = [str(p) for p in chosen.cli_ports]
        if tree is None or tree.unreadable:
            notes.append("config files not readable: Match blocks (if any) could not be reviewed")
        banners = _banners(following)
        if chosen.config in files_by_config:  # banner files the unprivileged read found, if sudo could not
            banners += [b for b in _banners(files_by_config[chosen.config][1]) if b[0] not in dict(banners)]
        return SshdConfig(
            values={k: tuple(v) for k, v in values.items()}, source="sshd -T", instance=instance,
            files=tuple(tree.files) if tree else (), match_blocks=match_blocks, notes=tuple(notes),
            host_keys=tuple(_host_keys(following, values.get("hostkey"))), banner_files=tuple(banners))

    # ---- (2) config files + OpenSSH defaults
    t_note = t_errors.get(chosen.config, eff_problem or "sshd -T not run")
    if tree is not None and not tree.unreadable and tree.files:
        values = {k: list(v) for k, v in tree.values.items()}
        defaulted = []
        for key, default in OPENSSH_DEFAULTS.items():
            if key not in values:
                values[key] = [default]
                defaulted.append(key)
        if "hostkey" not in values:
            values["hostkey"] = list(DEFAULT_HOST_KEYS)
            defaulted.append("hostkey")
        notes.append(f"sshd -T unavailable ({t_note}); values parsed from the config files with OpenSSH "
                     "9.x defaults for unset keywords")
        if chosen.cli_ports:
            values["port"] = [str(p) for p in chosen.cli_ports]
        return SshdConfig(
            values={k: tuple(v) for k, v in values.items()}, source="config files + OpenSSH defaults",
            instance=instance, files=tuple(tree.files), match_blocks=match_blocks,
            defaulted=tuple(defaulted), notes=tuple(notes),
            host_keys=tuple(_host_keys(files_by_config[chosen.config][1], values["hostkey"])),
            banner_files=tuple(_banners(files_by_config[chosen.config][1])))

    # ---- (3) nothing readable
    unreadable = "; ".join(tree.unreadable) if tree is not None else (files_problem or "config files not read")
    raise FactUnavailable(
        f"the effective configuration of sshd instance {instance['summary']} could not be read: "
        f"{t_note}; config files: {unreadable}. To fix: {_SUDO_HINT}")


@fact_with_optional("sshd_session", protocol="ssh", requests=[SESSION_INFO])
def sshd_session(evidence: FactEvidence) -> dict[str, Any]:
    """What the SSH server showed the auditor: port, offered auth methods, pre-auth banner, version."""
    info = evidence.data(SESSION_INFO)
    if not isinstance(info, dict):
        raise FactParseError(f"ssh:session:info is not a JSON object: {str(info)[:120]!r}")
    methods = info.get("auth_methods")
    if methods is not None and not (isinstance(methods, list) and all(isinstance(m, str) for m in methods)):
        raise FactParseError(f"ssh:session:info auth_methods is not a list of strings: {methods!r}")
    banner = info.get("banner")
    if banner is not None and not isinstance(banner, str):
        raise FactParseError(f"ssh:session:info banner is not a string: {banner!r}")
    return info


WIRE_LISTS = {"kex": ("kex_algorithms",),
              "ciphers": ("encryption_algorithms_client_to_server", "encryption_algorithms_server_to_client"),
              "macs": ("mac_algorithms_client_to_server", "mac_algorithms_server_to_client"),
              "hostkeys": ("server_host_key_algorithms",)}
#: KEXINIT entries that are protocol extension signals, not algorithms.
PSEUDO_KEX = ("ext-info-s", "ext-info-c", "kex-strict-s-v00@openssh.com", "kex-strict-c-v00@openssh.com")


@fact_with_optional("sshd_wire", protocol="ssh", requests=[WIRE_KEXINIT])
def sshd_wire(evidence: FactEvidence) -> dict[str, Any]:
    """Algorithms the server offers in its KEXINIT before authentication (what an attacker sees)."""
    data = evidence.data(WIRE_KEXINIT)
    if not isinstance(data, dict):
        raise FactParseError(f"ssh:wire:kexinit is not a JSON object: {str(data)[:120]!r}")
    offered: dict[str, list[str]] = {}
    for category, fields in WIRE_LISTS.items():
        names: list[str] = []
        for name in fields:
            value = data.get(name)
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise FactParseError(f"ssh:wire:kexinit field {name!r} is not a list of names: {value!r}")
            names += [v for v in value if v not in names and v not in PSEUDO_KEX]
        offered[category] = names
    return {"offered": offered, "identification": data.get("identification"), "software": data.get("software")}


# --------------------------------------------------------------------------------------------
# Helpers for checks
# --------------------------------------------------------------------------------------------

_RELOAD = ("Validate with 'sshd -t' and reload: Debian/Ubuntu 'systemctl reload ssh', RHEL 'systemctl reload "
           "sshd'. On both, /etc/ssh/sshd_config starts with 'Include /etc/ssh/sshd_config.d/*.conf' and the "
           "first value wins, so a drop-in such as /etc/ssh/sshd_config.d/00-iec62443.conf overrides the main "
           "file; also remove contradicting values from other drop-ins and from Match blocks.")


def _observe(config: SshdConfig, **values: Any) -> dict[str, Any]:
    return {**values, **config.basis()}


def _overrides_failing(config: SshdConfig, keyword: str, ok: Callable[[str], bool]) -> list[dict[str, str]]:
    return [o for o in config.overrides(keyword) if not ok(o[keyword])]


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------


@check("linux.sshd.permit-root-login", title="SSH: direct root login disabled",
       requirements=["SR 1.1 RE1", "SR 2.1", "CR 1.1 RE1", "CR 2.1"], applies_to=["host"], severity="high",
       params={"allow_prohibit_password": False},
       remediation="Set 'PermitRootLogin no' (in /etc/ssh/sshd_config.d/00-iec62443.conf on Debian/Ubuntu and "
                   "RHEL) and have administrators log in with personal accounts and use sudo. " + _RELOAD)
def permit_root_login(sshd_config: SshdConfig, params: dict[str, Any]) -> Verdict:
    """A shared root login defeats unique identification (SR 1.1 RE1): actions cannot be traced to a
    person, and a guessed or stolen root credential gives full control at once. With
    ``prohibit-password`` root may still log in with a key; that is accepted only when the site says so."""
    allowed = {"no"} | ({"prohibit-password", "forced-commands-only"} if params["allow_prohibit_password"] else set())
    value = sshd_config.get("permitrootlogin")
    bad = _overrides_failing(sshd_config, "permitrootlogin", lambda v: v in allowed)
    observed = _observe(sshd_config, permitrootlogin=value, match_overrides=bad or None)
    expected = " or ".join(sorted(allowed))
    if value not in allowed:
        return failed(observed, expected, f"sshd permits root login ({value})")
    if bad:
        return failed(observed, expected, "a Match block permits root login: "
                      + "; ".join(f"Match {o['match']}: {o['permitrootlogin']}" for o in bad))
    return passed(observed, expected)


def _password_methods(config: SshdConfig) -> list[str]:
    methods = []
    if config.get("passwordauthentication") == "yes":
        methods.append("password")
    if config.get("kbdinteractiveauthentication") == "yes" and config.get("usepam") == "yes":
        methods.append("keyboard-interactive")  # with PAM this normally asks for the password
    return methods


def _password_is_sole_factor(config: SshdConfig, methods: list[str]) -> bool:
    lists = (config.get("authenticationmethods") or "any").split()
    if not methods:
        return False
    if lists == ["any"]:
        return True
    for entry in lists:
        steps = {step.split(":")[0] for step in entry.split(",")}
        if steps and steps <= {"password", "keyboard-interactive"} and steps & set(methods):
            return True
    return False


@check("linux.sshd.password-authentication", title="SSH: password authentication disabled",
       requirements=["SR 1.7", "SR 1.5", "CR 1.7", "CR 1.5"], applies_to=["host"], severity="medium",
       remediation="Set 'PasswordAuthentication no' and 'KbdInteractiveAuthentication no' (unless keyboard-"
                   "interactive is a second factor required by AuthenticationMethods) and use personal SSH keys "
                   "(ideally FIDO/hardware-backed). If passwords must stay, enforce the pam_pwquality and "
                   "pam_faillock settings checked by linux.pam.* and document the exception. " + _RELOAD)
def password_authentication(sshd_config_maybe: SshdConfig | Missing,
                            sshd_session_maybe: dict[str, Any] | Missing) -> Verdict:
    """Passwords can be guessed, phished and reused; a network-reachable password login is the usual entry
    point of brute-force attacks. Keys (or passwords only as a second factor) satisfy SR 1.5/1.7 far
    better. The configuration is cross-checked against the methods the server actually offered to the
    auditor before authentication; when they disagree, the offered methods win."""
    config, session = sshd_config_maybe, sshd_session_maybe
    offered = session.get("auth_methods") if session else None
    offered_pw = sorted({"password", "keyboard-interactive"} & set(offered or []))
    expected = "no password (or PAM keyboard-interactive) login as a single factor"
    if not config and offered is None:
        return error(f"neither the sshd configuration nor the offered methods are available: "
                     f"{config.reason if isinstance(config, Missing) else ''}; "
                     f"{session.reason if isinstance(session, Missing) else 'no auth_methods in session info'}")
    observed: dict[str, Any] = {"offered_before_auth": offered}
    notes = []
    if config:
        methods = _password_methods(config)
        observed.update(_observe(config, passwordauthentication=config.get("passwordauthentication"),
                                 kbdinteractiveauthentication=config.get("kbdinteractiveauthentication"),
                                 usepam=config.get("usepam"),
                                 authenticationmethods=config.get("authenticationmethods")))
        sole = _password_is_sole_factor(config, methods)
        bad = _overrides_failing(config, "passwordauthentication", lambda v: v == "no")
        if bad:
            observed["match_overrides"] = bad
        if offered is not None and not offered_pw and sole:
            notes.append("config enables password login but the server did not offer it to the auditor "
                         "(Match block or AuthenticationMethods?)")
        if offered_pw and not methods:
            return failed(observed, expected,
                          f"config and wire disagree: the server offers {offered_pw} although the "
                          f"configuration ({config.source}) disables it; the wire wins")
        if sole:
            return failed(observed, expected, f"password login is enabled ({', '.join(methods)})"
                          + (f"; {'; '.join(notes)}" if notes else ""))
        if bad:
            return failed(observed, expected, "a Match block enables password login: "
                          + "; ".join(f"Match {o['match']}" for o in bad))
        reason = "passwords only as a second factor" if methods else ""
        if offered is None:
            notes.append("offered methods unknown (session info unavailable)")
        return passed(observed, expected, "; ".join(filter(None, [reason] + notes)))
    observed["config"] = f"unavailable: {config.reason}"
    if offered_pw:
        return failed(observed, expected, f"the server offers {offered_pw} before authentication")
    return passed(observed, expected, "judged from the methods offered before authentication only (sshd "
                  "configuration unreadable; Match blocks for other users/addresses not verified)")


#: Site-tunable fnmatch patterns of weak algorithms, by category.
WEAK_DEFAULTS = {
    "weak_kex": ["diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1",
                 "diffie-hellman-group-exchange-sha1", "gss-group1-sha1-*", "gss-group14-sha1-*",
                 "gss-gex-sha1-*", "rsa1024-sha1"],
    "weak_ciphers": ["*-cbc", "3des*", "arcfour*", "blowfish*", "cast128*", "rijndael-cbc*", "none"],
    "weak_macs": ["hmac-md5*", "hmac-sha1*", "umac-64*", "hmac-ripemd160*", "*-96", "*-96-etm@openssh.com",
                  "none"],
    "weak_host_key_algorithms": ["ssh-dss*", "ssh-rsa", "ssh-rsa-cert-v01@openssh.com"],
}
_CONFIG_LISTS = {"kex": "kexalgorithms", "ciphers": "ciphers", "macs": "macs", "hostkeys": "hostkeyalgorithms"}
_PARAM_OF = {"kex": "weak_kex", "ciphers": "weak_ciphers", "macs": "weak_macs",
             "hostkeys": "weak_host_key_algorithms"}


def _weak(names: Iterable[str], patterns: list[str]) -> list[str]:
    return [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in patterns)]


@check("linux.sshd.weak-crypto", title="SSH: no weak key exchange, ciphers, MACs or host key algorithms",
       requirements=["SR 4.3", "SR 4.1 RE1", "SR 3.1", "SR 3.1 RE1", "CR 4.3", "CR 4.1", "CR 3.1", "CR 3.1 RE1"],
       applies_to=["host"], severity="high", params=WEAK_DEFAULTS,
       remediation="Debian/Ubuntu: set explicit lists in /etc/ssh/sshd_config.d/00-iec62443.conf, e.g. "
                   "'KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,"
                   "diffie-hellman-group16-sha512,diffie-hellman-group18-sha512', 'Ciphers chacha20-poly1305@openssh.com,"
                   "aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr', "
                   "'MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,umac-128-etm@openssh.com', "
                   "'HostKeyAlgorithms ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256'. RHEL: the lists come "
                   "from crypto-policies (Include /etc/crypto-policies/back-ends/opensshserver.config in "
                   "50-redhat.conf); use 'update-crypto-policies --set DEFAULT:NO-SHA1' or FUTURE (or a custom "
                   "policy module) rather than editing the back-end file. " + _RELOAD)
def weak_crypto(sshd_config_maybe: SshdConfig | Missing, sshd_wire_maybe: dict[str, Any] | Missing,
                params: dict[str, Any]) -> Verdict:
    """Broken or weak SSH algorithms (SHA-1 key exchange, CBC/3DES/RC4 ciphers, MD5/SHA-1/64-bit MACs,
    DSA and SHA-1 RSA signatures) let an attacker on the path weaken confidentiality and integrity of
    remote administration (SR 4.3 use of cryptography, SR 3.1/4.1 in transit). Both the configuration and
    the KEXINIT the server sends on the wire are judged: the wire is what an attacker sees, so it wins
    where the two disagree (crypto policies, a different binary, a stale daemon)."""
    config, wire = sshd_config_maybe, sshd_wire_maybe
    if not config and not wire:
        return error(f"neither the sshd configuration nor the offered algorithms are available: "
                     f"{getattr(config, 'reason', '')}; {getattr(wire, 'reason', '')}")
    configured = {cat: config.algorithms(key) for cat, key in _CONFIG_LISTS.items()} if config else None
    offered = wire["offered"] if wire else None
    weak_conf = {cat: _weak(configured[cat], params[_PARAM_OF[cat]]) for cat in _CONFIG_LISTS} if configured else {}
    weak_wire = {cat: _weak(offered.get(cat, []), params[_PARAM_OF[cat]]) for cat in _CONFIG_LISTS} if offered else {}
    observed: dict[str, Any] = {}
    if config:
        observed.update(config.basis())
        observed["weak_configured"] = {k: v for k, v in weak_conf.items() if v}
    else:
        observed["config"] = f"unavailable: {config.reason}"
    if wire:
        observed["weak_offered"] = {k: v for k, v in weak_wire.items() if v}
        observed["server"] = wire.get("identification")
    else:
        observed["wire"] = f"unavailable: {wire.reason}"
    disagreements = []
    if configured and offered:
        for cat in ("kex", "ciphers", "macs"):
            only_conf = sorted(set(configured[cat]) - set(offered.get(cat, [])))
            only_wire = sorted(set(offered.get(cat, [])) - set(configured[cat]))
            if only_conf or only_wire:
                disagreements.append({"category": cat, "configured_not_offered": only_conf,
                                      "offered_not_configured": only_wire})
        # host key algorithms offered depend on the loaded keys: compare the weak ones only
        if set(weak_wire["hostkeys"]) - set(weak_conf["hostkeys"]):
            disagreements.append({"category": "hostkeys", "configured_not_offered": [],
                                  "offered_not_configured": sorted(set(weak_wire["hostkeys"])
                                                                   - set(weak_conf["hostkeys"]))})
        if disagreements:
            observed["config_wire_disagreement"] = disagreements
    expected = "no algorithm matching the weak_* patterns configured or offered"
    weak_any = {k: v for k, v in weak_wire.items() if v} if wire else {k: v for k, v in weak_conf.items() if v}
    if wire and config:
        conf_only = {k: v for k, v in weak_conf.items() if v and k != "hostkeys"}
        for key, names in conf_only.items():
            weak_any.setdefault(key, [])
            weak_any[key] = sorted(set(weak_any[key]) | set(names))
        weak_any = {k: v for k, v in weak_any.items() if v}
    note = " (config and wire disagree; the wire is what an attacker sees)" if disagreements else ""
    if weak_any:
        return failed(observed, expected, "weak algorithms: " + "; ".join(f"{k}: {', '.join(v)}"
                                                                          for k, v in sorted(weak_any.items())) + note)
    basis = "config and wire" if config and wire else ("wire only (config unavailable)" if wire
                                                       else "config only (wire probe unavailable)")
    return passed(observed, expected, f"judged on {basis}{note}")


def _int_limit_check(config: SshdConfig, keyword: str, maximum: int, minimum: int = 1) -> Verdict:
    value = config.number(keyword)
    expected = f"{minimum}..{maximum}"
    bad = [o for o in config.overrides(keyword)
           if not (o[keyword].isdigit() and minimum <= int(o[keyword]) <= maximum)]
    observed = _observe(config, **{keyword: value, "match_overrides": bad or None})
    if value is None:
        return error(f"{keyword} has no numeric value: {config.get(keyword)!r}", observed)
    if not minimum <= value <= maximum:
        return failed(observed, expected, f"{keyword} is {value}")
    if bad:
        return failed(observed, expected, "a Match block sets " + "; ".join(
            f"Match {o['match']}: {keyword} {o[keyword]}" for o in bad))
    return passed(observed, expected)


@check("linux.sshd.max-auth-tries", title="SSH: few authentication attempts per connection",
       requirements=["SR 1.11", "CR 1.11"], applies_to=["host"], severity="medium", params={"max_auth_tries": 4},
       remediation="Set 'MaxAuthTries 4' (or lower; 3 is common) in /etc/ssh/sshd_config.d/00-iec62443.conf. "
                   + _RELOAD)
def max_auth_tries(sshd_config: SshdConfig, params: dict[str, Any]) -> Verdict:
    """SR 1.11 limits unsuccessful login attempts; a low MaxAuthTries slows online guessing on each
    connection and makes attacks visible in the log (account lockout is checked by linux.pam.faillock)."""
    return _int_limit_check(sshd_config, "maxauthtries", params["max_auth_tries"])


@check("linux.sshd.login-grace-time", title="SSH: short unauthenticated login grace time",
       requirements=["SR 1.11", "SR 7.1", "CR 1.11", "CR 7.1"], applies_to=["host"], severity="low",
       params={"max_login_grace_time": 60},
       remediation="Set 'LoginGraceTime 60' (or 30) in /etc/ssh/sshd_config.d/00-iec62443.conf; 0 means unlimited. "
                   + _RELOAD)
def login_grace_time(sshd_config: SshdConfig, params: dict[str, Any]) -> Verdict:
    """Unauthenticated connections hold sshd resources; a long (or unlimited, 0) grace time lets an
    attacker exhaust MaxStartups slots (SR 7.1) and gives more time per guessing connection (SR 1.11)."""
    return _int_limit_check(sshd_config, "logingracetime", params["max_login_grace_time"])


@check("linux.sshd.idle-timeout", title="SSH: sessions terminated after inactivity",
       requirements=["SR 2.6", "CR 2.6"], applies_to=["host"], severity="medium", params={"max_idle_seconds": 900},
       remediation="Set 'ClientAliveInterval 300' and 'ClientAliveCountMax 3' (product <= 900 s) in "
                   "/etc/ssh/sshd_config.d/00-iec62443.conf; for idle (not only dead) interactive sessions also "
                   "set TMOUT (see linux.session.tmout) or, on OpenSSH >= 9.2, 'ChannelTimeout session=15m'. "
                   + _RELOAD)
def idle_timeout(sshd_config: SshdConfig, params: dict[str, Any]) -> Verdict:
    """SR 2.6 requires remote sessions to be terminated after a period of inactivity. sshd's
    ClientAliveInterval x ClientAliveCountMax bounds how long an unresponsive session survives;
    0 (the default) never ends it. (Interactive idleness proper is enforced by TMOUT or ChannelTimeout.)"""
    config, limit = sshd_config, params["max_idle_seconds"]
    interval, count = config.number("clientaliveinterval"), config.number("clientalivecountmax")
    channel_timeout = config.get("channeltimeout")
    observed = _observe(config, clientaliveinterval=interval, clientalivecountmax=count,
                        channeltimeout=channel_timeout,
                        match_overrides=config.overrides("clientaliveinterval", "clientalivecountmax") or None)
    expected = f"ClientAliveInterval > 0 and ClientAliveInterval x ClientAliveCountMax <= {limit} s"
    if interval is None or count is None:
        return error("ClientAliveInterval/ClientAliveCountMax not numeric", observed)
    if interval <= 0:
        return failed(observed, expected, "ClientAliveInterval is 0: unresponsive sessions are never terminated")
    total = interval * max(count, 1)
    observed["timeout_seconds"] = total
    if total > limit:
        return failed(observed, expected, f"sessions end after {total} s of unresponsiveness (> {limit} s)")
    return passed(observed, expected)


_DISCLOSURE_DEFAULT = [r"(?i)\b(ubuntu|debian|red ?hat|rhel|centos|rocky|almalinux|fedora|suse|sles|raspbian|"
                       r"kernel|openssh)\b", r"\b\d+\.\d+(\.\d+)*\b", r"\\[rsvmnol]"]


@check("linux.sshd.banner", title="SSH: pre-login use notification shown, without system details",
       requirements=["SR 1.12", "CR 1.12"], applies_to=["host"], severity="low",
       params={"disclosure_patterns": _DISCLOSURE_DEFAULT, "min_length": 10},
       remediation="Write the approved system use notification (authorised use only, monitoring, no OS name or "
                   "version) to /etc/issue.net and set 'Banner /etc/issue.net' in "
                   "/etc/ssh/sshd_config.d/00-iec62443.conf (Debian/Ubuntu and RHEL). Debian/Ubuntu: also set "
                   "'DebianBanner no' to drop the OS name from the SSH version string. " + _RELOAD)
def banner(sshd_config_maybe: SshdConfig | Missing, sshd_session_maybe: dict[str, Any] | Missing,
           params: dict[str, Any]) -> Verdict:
    """SR 1.12 requires a system use notification before authentication. The banner the server actually
    sent before authentication is judged first; the configured Banner file is cross-checked. The text must
    not disclose the operating system or versions, which helps an attacker pick exploits."""
    config, session = sshd_config_maybe, sshd_session_maybe
    expected = (f"a pre-authentication banner of at least {params['min_length']} characters that matches none of "
                "the disclosure patterns")
    if not config and not session:
        return error(f"neither the sshd configuration nor the session's banner is available: {config.reason}; "
                     f"{session.reason}")
    served = session.get("banner") if session else None
    configured_path = config.get("banner") if config else None
    configured_text = config.banner_text(configured_path) if config and configured_path not in (None, "none") else None
    observed: dict[str, Any] = {"served_banner": served if session else f"unavailable: {session.reason}"}
    if config:
        observed.update(config.basis())
        observed["configured_banner"] = configured_path
        if config.overrides("banner"):
            observed["match_overrides"] = config.overrides("banner")
    else:
        observed["config"] = f"unavailable: {config.reason}"
    if session:
        observed["server_identification"] = session.get("server_version")
    notes = []
    if session and config:
        if served and configured_path == "none":
            notes.append("config says 'Banner none' but the server sent a banner (config and wire disagree; "
                         "the wire wins)")
        if not served and configured_path not in (None, "none"):
            notes.append(f"config names banner file {configured_path} but the server sent no banner (missing or "
                         "empty file?)")
        if served and configured_text is not None and configured_text.strip() != served.strip():
            notes.append(f"the banner sent differs from the content of {configured_path}")
    text = served if session else configured_text
    if not session:
        if configured_path in (None, "none"):
            return failed(observed, expected, "no Banner configured")
        if configured_text is None:
            return error(f"Banner {configured_path} is configured but its content could not be read and the "
                         "session's banner is unavailable", observed)
    suffix = ("; " + "; ".join(notes)) if notes else ""
    if not text or not text.strip():
        return failed(observed, expected, "no banner is shown before authentication" + suffix)
    hits = [m.group(0) for p in params["disclosure_patterns"] for m in [re.search(p, text)] if m]
    if hits:
        return failed(observed, expected, f"banner discloses system details: {hits}" + suffix)
    if len(text.strip()) < params["min_length"]:
        return failed(observed, expected, f"banner is only {len(text.strip())} characters" + suffix)
    return passed(observed, expected, ("judged on the configured file only; " if not session else "")
                  + "; ".join(notes))


@check("linux.sshd.permit-empty-passwords", title="SSH: no empty passwords, host-based trust or user environment",
       requirements=["SR 1.1", "SR 1.2", "SR 1.5", "CR 1.1", "CR 1.5"], applies_to=["host"], severity="high",
       remediation="Set 'PermitEmptyPasswords no', 'HostbasedAuthentication no', 'IgnoreRhosts yes' and "
                   "'PermitUserEnvironment no' (the OpenSSH defaults) and remove contrary lines from "
                   "/etc/ssh/sshd_config and /etc/ssh/sshd_config.d/*.conf (Debian/Ubuntu and RHEL). " + _RELOAD)
def permit_empty_passwords(sshd_config: SshdConfig) -> Verdict:
    """Empty passwords and host-based (rhosts) trust authenticate nobody (SR 1.1/1.5); a user-controlled
    environment (PermitUserEnvironment) can bypass restrictions such as forced commands (LD_PRELOAD)."""
    wanted = {"permitemptypasswords": "no", "hostbasedauthentication": "no", "ignorerhosts": "yes",
              "permituserenvironment": "no"}
    values = {k: sshd_config.get(k) for k in wanted}
    wrong = [f"{k} {v}" for k, v in values.items() if v != wanted[k]]
    bad = [o for o in sshd_config.overrides(*wanted) for k in wanted if k in o and o[k] != wanted[k]]
    observed = _observe(sshd_config, **values, match_overrides=bad or None)
    expected = ", ".join(f"{k} {v}" for k, v in wanted.items())
    if wrong:
        return failed(observed, expected, "; ".join(wrong))
    if bad:
        return failed(observed, expected, "a Match block relaxes these settings")
    return passed(observed, expected)


FORWARDING_KEYWORDS = ("x11forwarding", "allowtcpforwarding", "permittunnel", "allowagentforwarding",
                       "gatewayports", "allowstreamlocalforwarding")


@check("linux.sshd.forwarding", title="SSH: tunnelling and forwarding disabled",
       requirements=["SR 5.2", "SR 7.7", "CR 7.7"], applies_to=["host"], severity="medium",
       params={"allowed": []},
       remediation="Set 'DisableForwarding yes' (or X11Forwarding no, AllowTcpForwarding no, "
                   "AllowStreamLocalForwarding no, AllowAgentForwarding no, PermitTunnel no, GatewayPorts no) in "
                   "/etc/ssh/sshd_config.d/00-iec62443.conf; Debian/Ubuntu ship 'X11Forwarding yes' in "
                   "/etc/ssh/sshd_config, RHEL in 50-redhat.conf: change it there too. Document any needed "
                   "forwarding and list it in the 'allowed' parameter. " + _RELOAD)
def forwarding(sshd_config: SshdConfig, params: dict[str, Any]) -> Verdict:
    """SSH port forwarding and tunnels carry arbitrary traffic through the host and bypass zone and conduit
    boundaries (SR 5.2) and are functionality an IACS host rarely needs (SR 7.7 least functionality)."""
    allowed = {k.lower() for k in params["allowed"]}
    disabled_all = sshd_config.get("disableforwarding") == "yes"
    values = {k: sshd_config.get(k) for k in FORWARDING_KEYWORDS}
    enabled = [k for k, v in values.items() if v not in (None, "no") and k not in allowed]
    bad = [o for o in sshd_config.overrides(*FORWARDING_KEYWORDS)
           if any(o.get(k) not in (None, "no") and k not in allowed for k in FORWARDING_KEYWORDS)]
    observed = _observe(sshd_config, disableforwarding=sshd_config.get("disableforwarding"), **values,
                        match_overrides=bad or None)
    expected = "DisableForwarding yes, or every forwarding keyword 'no' (except those in 'allowed')"
    if disabled_all and not [o for o in bad if "disableforwarding" in o]:
        return passed(observed, expected, "DisableForwarding yes")
    if enabled:
        return failed(observed, expected, "enabled: " + ", ".join(f"{k} {values[k]}" for k in enabled))
    if bad:
        return failed(observed, expected, "a Match block enables forwarding")
    return passed(observed, expected)


@check("linux.sshd.log-level", title="SSH: logging at INFO or VERBOSE",
       requirements=["SR 2.8", "CR 2.8"], applies_to=["host"], severity="low",
       params={"allowed_levels": ["INFO", "VERBOSE"]},
       remediation="Set 'LogLevel VERBOSE' (logs key fingerprints used for login) or 'LogLevel INFO' in "
                   "/etc/ssh/sshd_config.d/00-iec62443.conf (Debian/Ubuntu and RHEL). " + _RELOAD)
def log_level(sshd_config: SshdConfig, params: dict[str, Any]) -> Verdict:
    """SR 2.8 needs authentication events to be recorded: QUIET/FATAL/ERROR drop login records, DEBUG
    levels log private details and flood the audit trail."""
    allowed = [lv.upper() for lv in params["allowed_levels"]]
    value = sshd_config.get("loglevel")
    bad = [o for o in sshd_config.overrides("loglevel") if o["loglevel"] not in allowed]
    observed = _observe(sshd_config, loglevel=value, match_overrides=bad or None)
    if value not in allowed:
        return failed(observed, " or ".join(allowed), f"LogLevel {value}")
    if bad:
        return failed(observed, " or ".join(allowed), "a Match block changes LogLevel")
    return passed(observed, " or ".join(allowed))


def _max_startups(value: str | None) -> tuple[int, int, int] | None:
    if not value:
        return None
    parts = value.split(":")
    if not all(p.isdigit() for p in parts):
        return None
    if len(parts) == 1:
        return int(parts[0]), 100, int(parts[0])
    if len(parts) == 3:
        return int(parts[0]), int(parts[1]), int(parts[2])
    return None


@check("linux.sshd.session-limits", title="SSH: concurrent session and unauthenticated connection limits",
       requirements=["SR 2.7", "SR 7.1", "CR 2.7", "CR 7.1"], applies_to=["host"], severity="low",
       params={"max_sessions": 10, "max_startups_start": 10, "max_startups_full": 60},
       remediation="Set 'MaxSessions 4' (<= the site limit) and 'MaxStartups 10:30:60' in "
                   "/etc/ssh/sshd_config.d/00-iec62443.conf (Debian/Ubuntu and RHEL); per-user login limits "
                   "belong in /etc/security/limits.conf (maxlogins). " + _RELOAD)
def session_limits(sshd_config: SshdConfig, params: dict[str, Any]) -> Verdict:
    """MaxSessions bounds the sessions multiplexed on one connection (SR 2.7 concurrent session control);
    MaxStartups drops excess unauthenticated connections early, which protects sshd against connection
    floods (SR 7.1)."""
    sessions = sshd_config.number("maxsessions")
    startups = _max_startups(sshd_config.get("maxstartups"))
    observed = _observe(sshd_config, maxsessions=sessions, maxstartups=sshd_config.get("maxstartups"),
                        match_overrides=sshd_config.overrides("maxsessions") or None)
    expected = (f"MaxSessions 1..{params['max_sessions']}, MaxStartups start <= {params['max_startups_start']} "
                f"and full <= {params['max_startups_full']}")
    if sessions is None or startups is None:
        return error("MaxSessions/MaxStartups not understood", observed)
    problems = []
    if not 1 <= sessions <= params["max_sessions"]:
        problems.append(f"MaxSessions {sessions}")
    if startups[0] > params["max_startups_start"] or startups[2] > params["max_startups_full"]:
        problems.append(f"MaxStartups {sshd_config.get('maxstartups')}")
    for o in sshd_config.overrides("maxsessions"):
        if not (o["maxsessions"].isdigit() and 1 <= int(o["maxsessions"]) <= params["max_sessions"]):
            problems.append(f"Match {o['match']}: MaxSessions {o['maxsessions']}")
    if problems:
        return failed(observed, expected, "; ".join(problems))
    return passed(observed, expected)


@check("linux.sshd.access-allow-list", title="SSH: login restricted to an allow-list of users or groups",
       requirements=["SR 2.1", "SR 1.13", "CR 2.1"], applies_to=["host"], severity="medium",
       remediation="Create a group for remote administrators (e.g. 'groupadd sshusers' and add the members) and set "
                   "'AllowGroups sshusers' (or 'AllowUsers ...') in /etc/ssh/sshd_config.d/00-iec62443.conf on "
                   "Debian/Ubuntu and RHEL; include the audit account if it logs in over SSH. " + _RELOAD)
def access_allow_list(sshd_config: SshdConfig) -> Verdict:
    """Only accounts that need remote access should be able to use it (SR 2.1 authorisation enforcement,
    SR 1.13 access via untrusted networks); an allow-list also shuts out service and forgotten accounts."""
    users, groups = sshd_config.all("allowusers"), sshd_config.all("allowgroups")
    observed = _observe(sshd_config, allowusers=users, allowgroups=groups,
                        denyusers=sshd_config.all("denyusers"), denygroups=sshd_config.all("denygroups"))
    if users or groups:
        return passed(observed, "AllowUsers or AllowGroups set")
    reason = "no AllowUsers/AllowGroups: every account with a valid credential may log in"
    if sshd_config.all("denyusers") or sshd_config.all("denygroups"):
        reason += " (DenyUsers/DenyGroups is a deny-list, not an allow-list)"
    return failed(observed, "AllowUsers or AllowGroups set", reason)


@check("linux.sshd.host-key-strength", title="SSH: strong host keys",
       requirements=["SR 1.9", "SR 4.3", "CR 1.9", "CR 4.3"], applies_to=["host"], severity="medium",
       params={"min_rsa_bits": 2048, "min_ecdsa_bits": 256},
       remediation="Remove DSA keys and RSA keys below the minimum: e.g. 'ssh-keygen -t rsa -b 3072 -f "
                   "/etc/ssh/ssh_host_rsa_key' (or use only ed25519: 'ssh-keygen -t ed25519 -f "
                   "/etc/ssh/ssh_host_ed25519_key'), list the keys with 'HostKey' lines in "
                   "/etc/ssh/sshd_config.d/00-iec62443.conf and distribute the new fingerprints to clients. "
                   "RHEL: crypto-policies also enforce RequiredRSASize. " + _RELOAD)
def host_key_strength(sshd_config_maybe: SshdConfig | Missing, sshd_wire_maybe: dict[str, Any] | Missing,
                      params: dict[str, Any]) -> Verdict:
    """Clients authenticate the server by its host key (SR 1.9 strength of public key authentication):
    DSA (1024 bit, SHA-1) and short RSA keys can be broken or forged, enabling man-in-the-middle attacks
    on remote administration."""
    config, wire = sshd_config_maybe, sshd_wire_maybe
    expected = (f"no DSA host key; RSA >= {params['min_rsa_bits']} bits; ECDSA >= {params['min_ecdsa_bits']} bits; "
                "no ssh-dss offered")
    offered = wire["offered"]["hostkeys"] if wire else None
    keys = list(config.host_keys) if config else []
    observed: dict[str, Any] = {"offered_host_key_algorithms": offered,
                                "host_keys": [{k: v for k, v in key.items() if k != "fingerprint"} for key in keys]}
    observed.update(config.basis() if config else {"config": f"unavailable: {config.reason}"})
    if not config and not wire:
        return error(f"no host key evidence: {config.reason}; {wire.reason}")
    problems = []
    for key in keys:
        ktype, bits = key.get("type", ""), key.get("bits")
        if ktype == "DSA":
            problems.append(f"{key['path']}: DSA")
        elif ktype == "RSA" and bits is not None and bits < params["min_rsa_bits"]:
            problems.append(f"{key['path']}: RSA {bits} bits")
        elif ktype.startswith("ECDSA") and bits is not None and bits < params["min_ecdsa_bits"]:
            problems.append(f"{key['path']}: ECDSA {bits} bits")
    if offered and any(a.startswith("ssh-dss") for a in offered):
        problems.append("server offers ssh-dss (DSA host key)")
    if problems:
        return failed(observed, expected, "; ".join(problems))
    unreadable = [k["path"] for k in keys if "error" in k]
    rsa_offered = bool(offered and any("rsa" in a for a in offered))
    rsa_sized = any(k.get("type") == "RSA" for k in keys)
    if rsa_offered and not rsa_sized:
        return error("the server offers an RSA host key but its size could not be read"
                     + (f" (unreadable: {unreadable})" if unreadable else ""), observed)
    if not keys and not offered:
        return error("no host key was listed and the offered algorithms are unknown", observed)
    return passed(observed, expected, "judged on the offered algorithms only" if not keys else "")


#: PAM modules that add a second factor to the sshd stack.
MFA_PAM_MODULES = ("pam_u2f", "pam_oath", "pam_google_authenticator", "pam_duo", "pam_radius_auth", "pam_yubico",
                   "pam_privacyidea", "pam_linotp", "pam_mfa", "pam_sss_gss")


@check("linux.sshd.mfa", title="SSH: multi-factor authentication for interactive logins",
       requirements=["SR 1.1 RE2", "SR 1.1 RE3", "CR 1.1 RE2"], applies_to=["host"], severity="medium",
       remediation="Require two factors, e.g. 'AuthenticationMethods publickey,keyboard-interactive' with a "
                   "one-time-password PAM module in /etc/pam.d/sshd (Debian/Ubuntu: libpam-google-authenticator or "
                   "libpam-oath; RHEL: google-authenticator from EPEL or FreeIPA/sssd OTP), or FIDO2 keys with "
                   "'PubkeyAuthOptions verify-required' and only sk-* algorithms in PubkeyAcceptedAlgorithms. At "
                   "SL3 this is required at least for access from untrusted networks (Match Address), at SL4 for "
                   "all. If a jump host enforces MFA instead, document it as a compensating countermeasure. "
                   + _RELOAD)
def mfa(sshd_config: SshdConfig, acct_pam: Any) -> Verdict:
    """SR 1.1 RE2/RE3 (and CR 1.1 RE2) require multifactor authentication for human users, from SL3.
    sshd proves it when every AuthenticationMethods list combines two methods, or when it only accepts
    FIDO keys with user verification; a second-factor PAM module alone proves nothing if a key or a
    password suffices on its own."""
    lists = (sshd_config.get("authenticationmethods") or "any").split()
    pam_modules = sorted({m for m in acct_pam.modules("sshd", "auth") if m in MFA_PAM_MODULES})
    match_am = sshd_config.overrides("authenticationmethods")
    observed = _observe(sshd_config, authenticationmethods=lists, mfa_pam_modules=pam_modules,
                        pubkeyauthoptions=sshd_config.get("pubkeyauthoptions"),
                        match_overrides=match_am or None)
    expected = "every AuthenticationMethods list requires two methods, or FIDO keys with verify-required only"
    if lists != ["any"] and all(len({s.split(":")[0] for s in entry.split(",")}) >= 2 for entry in lists):
        return passed(observed, expected, "every AuthenticationMethods list has two distinct methods")
    pubkey_algs = sshd_config.algorithms("pubkeyacceptedalgorithms")
    if ("verify-required" in (sshd_config.get("pubkeyauthoptions") or "")
            and pubkey_algs and all(a.startswith("sk-") for a in pubkey_algs)
            and not _password_methods(sshd_config)):
        return passed(observed, expected, "only FIDO keys with user verification are accepted")
    if match_am:
        return manual("AuthenticationMethods is set in Match blocks (MFA may be required for some networks or "
                      "users only): verify that it covers access from untrusted networks (SL3) or all access (SL4)",
                      expected, observed)
    if pam_modules and not sshd_config.get("pubkeyauthentication") == "yes" and lists == ["any"]:
        return manual(f"second-factor PAM modules {pam_modules} are in the sshd stack and public key login is off: "
                      "verify that the PAM stack requires both the password and the second factor",
                      expected, observed)
    single = [e for e in lists if len({s.split(':')[0] for s in e.split(',')}) < 2]
    return failed(observed, expected, "a single authentication method is enough to log in"
                  + (f" (AuthenticationMethods {' '.join(single)})" if lists != ["any"] else "")
                  + (f"; PAM modules {pam_modules} do not apply when a single method suffices" if pam_modules else ""))
