"""Logging configuration: journald settings and every rule that forwards logs off the host.

Read from the shared file dump: journald.conf(.d), rsyslog.conf(.d), syslog-ng.conf(.d),
journal-upload.conf and the audisp-remote plugin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from auditor.facts import FactEvidence
from auditor.registry import fact
from checks.linux.facts.files import FILES, config_file, files_of, texts, unreadable
from checks.linux.facts.parsing import FileRead, key_values, strip_comments


@dataclass(frozen=True)
class Forward:
    via: str            # rsyslog / syslog-ng / journal-upload / audisp-remote
    target: str
    transport: str      # udp / tcp / relp / https / ...
    tls: bool
    source: str         # file it was found in


@dataclass(frozen=True)
class Logging:
    journald: dict[str, str]
    forwards: tuple[Forward, ...]
    unreadable: tuple[str, ...]


_LEGACY_FWD = re.compile(r"^\s*(?P<sel>[\w*,;.!=\-]+\.[\w*!=\-]+(?:;[\w*,.!=\-]+)*)\s+-?(?P<proto>@@?|:omrelp:|:omfwd:)"
                         r"(?:\([^)]*\))?(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s:;]+)(?::(?P<port>\d+))?")
_ACTION = re.compile(r"action\s*\((?P<body>[^)]*)\)", re.S | re.I)
_PARAM = re.compile(r"(?P<key>[A-Za-z.]+)\s*=\s*\"(?P<value>[^\"]*)\"")


def rsyslog_forwards(path: str, text: str, global_tls: bool) -> list[Forward]:
    clean = strip_comments(text)
    found: list[Forward] = []
    for line in clean.splitlines():
        match = _LEGACY_FWD.match(line)
        if match:
            proto = {"@": "udp", "@@": "tcp", ":omrelp:": "relp", ":omfwd:": "tcp"}[match["proto"]]
            found.append(Forward("rsyslog", match["host"] + (f":{match['port']}" if match["port"] else ""), proto,
                                 global_tls and proto == "tcp", path))
    for action in _ACTION.finditer(clean):
        params = {m["key"].lower(): m["value"] for m in _PARAM.finditer(action["body"])}
        kind = params.get("type", "").lower()
        if kind not in ("omfwd", "omrelp"):
            continue
        driver = params.get("streamdriver", params.get("streamdriver.name", "")).lower()
        tls = (driver in ("gtls", "ossl") and params.get("streamdrivermode", "1") != "0") or \
              params.get("tls", "").lower() == "on" or (global_tls and not driver)
        transport = "relp" if kind == "omrelp" else params.get("protocol", "udp").lower()
        found.append(Forward("rsyslog", params.get("target", "?") + (f":{params['port']}" if "port" in params else ""),
                             transport, tls and transport != "udp", path))
    return found


def syslog_ng_forwards(path: str, text: str) -> list[Forward]:
    clean = strip_comments(text)
    found: list[Forward] = []
    for block in re.finditer(r"destination\s+[\w\-]+\s*\{(?P<body>.*?)\}\s*;", clean, re.S):
        body = block["body"]
        for driver in re.finditer(r"\b(?P<kind>network|tcp6?|udp6?|syslog)\s*\(\s*\"?(?P<host>[^\"\s)]+)", body):
            tls = bool(re.search(r"transport\s*\(\s*\"?tls|\btls\s*\(", body))
            kind = driver["kind"]
            transport = "tls" if tls else ("udp" if kind.startswith("udp") else "tcp")
            if kind in ("network", "syslog") and not tls:
                t = re.search(r"transport\s*\(\s*\"?(\w+)", body)
                transport = t.group(1).lower() if t else ("tcp" if kind == "syslog" else "udp")
            found.append(Forward("syslog-ng", driver["host"], transport, tls, path))
    return found


def parse_logging(files: dict[str, FileRead]) -> Logging:
    journald: dict[str, str] = {}
    for _path, text in texts(files, "/etc/systemd/journald.conf", "/etc/systemd/journald.conf.d/*.conf"):
        journald.update({k.lower(): v for k, v in key_values(text, separator="=").items()})
    rsyslog = texts(files, "/etc/rsyslog.conf", "/etc/rsyslog.d/*.conf")
    all_rsyslog = "\n".join(strip_comments(t) for _, t in rsyslog)
    global_tls = bool(re.search(r"(\$DefaultNetstreamDriver\s+|DefaultNetstreamDriver\s*=\s*\")(gtls|ossl)",
                                all_rsyslog, re.I)) and \
        bool(re.search(r"(\$ActionSendStreamDriverMode\s+1|StreamDriverMode\s*=\s*\"1)", all_rsyslog, re.I))
    forwards: list[Forward] = []
    for path, text in rsyslog:
        forwards.extend(rsyslog_forwards(path, text, global_tls))
    for path, text in texts(files, "/etc/syslog-ng/syslog-ng.conf", "/etc/syslog-ng/conf.d/*.conf"):
        forwards.extend(syslog_ng_forwards(path, text))
    upload = config_file(files, "/etc/systemd/journal-upload.conf")
    url = upload.values.get("url")
    if url:
        forwards.append(Forward("journal-upload", url, "https" if url.startswith("https") else "http",
                                url.startswith("https"), upload.path))
    plugin = config_file(files, "/etc/audit/plugins.d/au-remote.conf")
    remote = config_file(files, "/etc/audit/audisp-remote.conf")
    if plugin.values.get("active", "").lower() == "yes" and remote.values.get("remote_server"):
        transport = remote.values.get("transport", "tcp").lower()
        forwards.append(Forward("audisp-remote", remote.values["remote_server"], transport, transport == "krb5",
                                remote.path))
    hidden = unreadable(files, "/etc/rsyslog*", "/etc/syslog-ng/*", "/etc/audit/plugins.d/*",
                        "/etc/audit/audisp-remote.conf", "/etc/systemd/journal*")
    return Logging(journald, tuple(forwards), tuple(hidden))


@fact("sys_logging", protocol="ssh", requests=[FILES])
def sys_logging(ev: FactEvidence) -> Logging:
    """journald settings and every log forwarding rule found in rsyslog, syslog-ng, journal-upload, audisp."""
    return parse_logging(files_of(ev))
