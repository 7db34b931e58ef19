"""Network-device CLI constants the connector, the configuration pack and the CLI simulator share.

A pack asks for a *logical* read (``running-config``, ``version``, ...); the connector turns it into the one
command the device's platform knows for it (:data:`PLATFORMS`). That table is also the allow-list: the
connector sends nothing else (apart from the session commands its driver needs to disable paging and
to enter the privileged EXEC level, :attr:`Platform.session_commands`), so ``configure``, ``write``,
``copy``, ``reload``, ``debug`` and ``clear`` cannot leave the auditor whatever a pack asks for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: The logical reads a pack may request, in the order a connector sends them.
READS: tuple[str, ...] = ("version", "running-config", "interfaces-status", "ssh-status")

#: Words that change a device or load it, refused even if a platform table named them by mistake.
FORBIDDEN_WORDS: tuple[str, ...] = ("configure", "conf", "write", "copy", "reload", "debug", "undebug", "clear",
                                   "delete", "erase", "format", "test", "archive", "boot", "squeeze", "rename",
                                   "mkdir", "rmdir", "tclsh", "event", "send", "setup", "save", "reset")


@dataclass(frozen=True)
class Platform:
    """One CLI family: the netmiko driver that speaks it and the exact command for each logical read."""

    name: str
    title: str
    netmiko_device_type: str
    commands: dict[str, str]
    session_commands: tuple[str, ...]  # what the driver itself sends to prepare the session
    detect: re.Pattern[str]            # matched against ``show version`` output
    #: True where ``enable`` asks for no secret and only lifts the session to what the user's role allows
    #: (HiOS): the connector then always enters it, since the configuration script needs it.
    enable_without_secret: bool = False

    def command_for(self, read: str) -> str | None:
        return self.commands.get(read)


PLATFORMS: dict[str, Platform] = {
    "cisco_ios": Platform(
        name="cisco_ios", title="Cisco IOS / IOS-XE (Catalyst, IE industrial switches)",
        netmiko_device_type="cisco_ios",
        commands={"version": "show version", "running-config": "show running-config",
                  "interfaces-status": "show interfaces status", "ssh-status": "show ip ssh"},
        session_commands=("terminal width 511", "terminal length 0", "enable", "exit"),
        detect=re.compile(r"Cisco IOS(?: XE)? Software|Cisco Internetwork Operating System", re.I)),
    # Commands of public HiOS tooling (configuration backup and inventory over SSH). ``script all`` prints every
    # setting, defaults included, so the pack judges stated values instead of guessing a release's defaults.
    # HiOS has no ``show ip ssh``: its SSH server's protocol version is read from the session's identification.
    "hirschmann_hios": Platform(
        name="hirschmann_hios", title="Hirschmann HiOS (RSP, MSP, OS, BRS, GRS industrial switches)",
        netmiko_device_type="hirschmann_hios",
        commands={"version": "show system info", "running-config": "show running-config script all",
                  "interfaces-status": "show port"},
        session_commands=("cli numlines 0", "enable", "exit"),
        detect=re.compile(r"Hirschmann|HiOS-\d", re.I), enable_without_secret=True),
}

#: ``platform: auto`` starts with this driver: its prompt handling fits every platform above, and its
#: ``show version`` is answered (or refused with "% Invalid input") by all of them.
AUTO_START = "cisco_ios"


def allowed(platform: str, command: str) -> bool:
    """True if ``command`` is exactly one of the platform's read commands and names no forbidden word."""
    spec = PLATFORMS.get(platform)
    if spec is None or command not in spec.commands.values():
        return False
    words = command.lower().split()
    return bool(words) and words[0] == "show" and not set(words) & set(FORBIDDEN_WORDS)


def detect_platform(show_version: str, identification: str = "") -> str | None:
    """The platform a version answer (``show version``, ``show system info``) or the SSH identification names."""
    for spec in PLATFORMS.values():
        if spec.detect.search(show_version or ""):
            return spec.name
    if re.search(r"Cisco", identification or ""):
        return "cisco_ios"
    if re.search(r"HiOS|Hirschmann", identification or ""):
        return "hirschmann_hios"
    return None


#: Secrets a running configuration prints, each as (pattern, group that holds the secret). The type digit
#: before a secret stays (it is the evidence: 0/7 reversible, 5 MD5, 8 PBKDF2, 9 scrypt); the secret goes.
_SECRETS: tuple[re.Pattern[str], ...] = (
    # username/enable/line: "password 7 0822455D0A16", "secret 9 $9$...", "password maint123"
    re.compile(r"(?<![\w-])(?:password|secret)(?: \d{1,2})? (?P<secret>\S+)"),
    # tacacs/radius servers and key chains: "key 7 104D000A0618", "key-string 7 ...", "tacacs-server key X";
    # a bare number after "key" is a key id (key chains, "ntp server ... key 1"), not a secret
    re.compile(r"^(?:(?:tacacs|radius)-server )?(?:key|server-key) [067] (?P<secret>\S+)\s*$"),
    re.compile(r"^(?:(?:tacacs|radius)-server )?(?:key|server-key) (?!\d+\s*$)(?P<secret>\S+)\s*$"),
    re.compile(r"^key-string(?: [07])? (?P<secret>\S+)\s*$"),
    # "ntp authentication-key 1 md5 1511021F07257A767B 7"
    re.compile(r"^ntp authentication-key \d+ \S+ (?P<secret>\S+)"),
    # "snmp-server user NAME GROUP v3 auth sha SECRET priv aes 128 SECRET"
    re.compile(r"^snmp-server user .* auth \S+ (?P<secret>\S+)"),
    re.compile(r"^snmp-server user .* priv (?:aes \d+|\S+) (?P<secret>\S+)"),
)
_COMMUNITY = re.compile(r"^(?P<head>snmp-server community |snmp community (?:ro|rw) )\"?(?P<secret>[^\s\"]+)")
REDACTED = "<removed>"
#: A HiOS user's password printed in clear (the device masks it in a comment; should a release not): the
#: user name stays, the password goes.
_HIOS_USER_PASSWORD = re.compile(r'^users password "?[^"\s]+"? "?(?P<secret>[^"\s]+)')


def redact_config(text: str, keep_communities: tuple[str, ...] = (), platform: str = "cisco_ios") -> tuple[str, int]:
    """A configuration with its passwords, hashes, keys and SNMP communities replaced by :data:`REDACTED`.

    Communities in ``keep_communities`` (the factory defaults, which are public knowledge and the finding
    itself) stay readable. HiOS prints its secrets only as comments it has already masked
    (``! users password admin "********"``): those lines stay as printed, the user name is no secret.
    Returns the text and how many secrets were removed.
    """
    removed = 0
    out = []
    for line in text.split("\n"):
        stripped = line.lstrip()
        if platform == "hirschmann_hios" and stripped.startswith("!"):
            out.append(line)
            continue
        user = _HIOS_USER_PASSWORD.search(stripped) if platform == "hirschmann_hios" else None
        if user is not None:
            if user.group("secret") != REDACTED:
                stripped = stripped[:user.start("secret")] + REDACTED + stripped[user.end("secret"):]
                removed += 1
            out.append(line[: len(line) - len(line.lstrip())] + stripped)
            continue
        for pattern in (_COMMUNITY, *_SECRETS):
            match = pattern.search(stripped)
            while match and match.group("secret") != REDACTED:
                if pattern is _COMMUNITY and match.group("secret") in keep_communities:
                    break
                start, end = match.span("secret")
                stripped = stripped[:start] + REDACTED + stripped[end:]
                removed += 1
                match = pattern.search(stripped)
        out.append(line[: len(line) - len(line.lstrip())] + stripped)
    return "\n".join(out), removed
