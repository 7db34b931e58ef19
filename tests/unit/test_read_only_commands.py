"""Every shell command any pack may send over SSH is read-only: a static lint of the whole registry.

The simulators prove at run time that only declared commands are sent; this proves that no declared
command can change a host. A new command that trips a rule needs a closer look, not a looser rule.
"""

from __future__ import annotations

import re

import pytest

from auditor.registry import REGISTRY

FORBIDDEN = {
    "deletes or moves files": r"(^|[;&|(\s])(rm|rmdir|mv|cp|dd|truncate|shred|install|ln)\s",
    "creates files or folders": r"(^|[;&|(\s])(touch|mkdir|mktemp|tee)\b",
    "edits files in place": r"\bsed\s+(-[a-zA-Z]*i|--in-place)",
    "changes ownership or modes": r"(^|[;&|(\s])(chmod|chown|chgrp|chattr|setfacl)\s",
    "changes accounts": r"(^|[;&|(\s])(useradd(?!\s+-D\s*($|[;&|)\n]))|usermod|userdel|groupadd|groupmod|chpasswd|chage\s+-[^l]|passwd\s+(?!-S))",
    "changes services": r"\bsystemctl\s+(start|stop|restart|reload|enable|disable|mask|unmask|kill|daemon-reload)\b",
    "refreshes or changes packages": r"\b(apt|apt-get)\s+(?!-s\b)(update|upgrade|dist-upgrade|install|remove|purge|autoremove)\b"
                                     r"|\b(dnf|yum)\s+(?!.*--cacheonly)(-\S+\s+)*(update|upgrade|install|remove|makecache)\b"
                                     r"|\bdpkg\s+(-i|--install|-r|--remove|-P|--purge|--configure)\b|\brpm\s+(-i|-U|-e|-F)\b",
    "runs AIDE state changes or heavy checks": r"\baide\s+.*--(init|update|check)\b",
    "changes kernel or firewall state": r"\bsysctl\s+(-w|--write|-p|--load|--system)\b|\bmodprobe\s+(?!-n)|\b(insmod|rmmod)\b"
                                        r"|\b(ip6?tables)\s+-[AIDRFXPNZ]\b|\bnft\s+(add|delete|flush|insert|replace|create)\b"
                                        r"|\bfirewall-cmd\s+--(add|remove|reload|permanent|set)",
    "changes the clock or power state": r"(^|[;&|(\s])(date\s+-s|timedatectl\s+set|hwclock\s+--(set|systohc)|reboot|shutdown|halt|poweroff|kill|pkill|killall)\b",
    "schedules jobs": r"\bcrontab\s+-[er]\b|(^|[;&|(\s])at\s+",
    "mounts": r"(^|[;&|(\s])(mount|umount|swapon|swapoff)\s",
    "writes through a redirection": r"(?<![0-9&<>])>{1,2}\s*(?!&|/dev/null)[^\s&|;)]+",
}


def exec_commands() -> list[str]:
    registry = REGISTRY.load()
    return sorted({r.target for f in registry.facts.values() for r in f.requests
                   if r.protocol == "ssh" and r.op == "exec"})


def test_the_lint_catches_what_it_should() -> None:
    writes = ["rm -f /tmp/x", "echo x > /etc/motd", "sed -i s/a/b/ /etc/x", "apt-get update", "systemctl restart sshd",
              "sysctl -w net.ipv4.ip_forward=0", "iptables -F", "dnf makecache", "passwd root", "useradd -D -s /bin/sh", "echo a >>/var/log/x"]
    reads = ["apt-get -s dist-upgrade", "cat /etc/passwd 2>&1", "ls /x 2>/dev/null", "passwd -S root", "sysctl -a", "useradd -D",
             "dnf -q --cacheonly check-update", "systemctl list-units", "echo a 2>&1 >/dev/null"]
    for command in writes:
        assert any(re.search(p, command) for p in FORBIDDEN.values()), command
    for command in reads:
        assert not any(re.search(p, command) for p in FORBIDDEN.values()), command


@pytest.mark.parametrize("command", exec_commands(), ids=lambda c: c[:60])
def test_every_ssh_command_is_read_only(command: str) -> None:
    hits = {why: m.group(0) for why, pattern in FORBIDDEN.items() if (m := re.search(pattern, command))}
    assert not hits, f"{hits} in: {command}"
