"""The sshd requests: two commands (built from small documented pieces) and the sections of their output,
the session info and the KEXINIT the connector records.

The strings are the requests' identity (recorded evidence is keyed by them); the simulator fixtures answer
them by name (``sshd.effective-config``, ``sshd.config-files``). Both commands are
strictly read-only; ``ps`` lines are filtered on the target so that the command lines of unrelated
processes (which may hold secrets) never enter the evidence. Every line the commands print themselves
starts with :data:`MARK`; :func:`split_sections` splits an output back into those sections.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.registry import request, ssh_exec

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


def _formerly(script: str) -> str:
    """How the command was written before: wrapped once more in ``sh -c '...'``.

    The connector already runs every command in its own ``sh -c`` (under sudo where allowed); the extra
    wrapper only made the sudo'ed command line start with a shell, which an exact sudoers rule must not
    allow. Bundles recorded with the old text are still read (``ssh_exec(..., formerly=...)``).
    """
    if "'" in script:
        raise ValueError("sshd command scripts must not contain single quotes")
    return f"sh -c '{script}'"


#: Discovers the sshd masters and prints, per distinct config file, ``sshd -T -f FILE`` plus the
#: host key fingerprints and the banner file it names. Needs root for ``sshd -T``.
SSHD_EFFECTIVE_COMMAND = f"{_DISCOVER}; {_SSHD_T_PER_CONFIG}"
#: Discovers the sshd masters and prints each config file with its Include'd files (``head -v``
#: headers), then host key fingerprints and banner files named there. Works unprivileged when the
#: files are readable.
SSHD_FILES_COMMAND = f"{_DISCOVER}; {_READ_CONFIG_TREE}"

SSHD_EFFECTIVE = ssh_exec(SSHD_EFFECTIVE_COMMAND, sudo=True, name="sshd.effective-config",
                          formerly=[_formerly(SSHD_EFFECTIVE_COMMAND)])
# 0600 drop-ins are common: the files are read as root where allowed
SSHD_FILES = ssh_exec(SSHD_FILES_COMMAND, sudo=True, name="sshd.config-files", formerly=[_formerly(SSHD_FILES_COMMAND)])
SESSION_INFO = request("ssh", "session", "info", name="ssh.session-info")
WIRE_KEXINIT = request("ssh", "wire", "kexinit", name="ssh.kexinit")


# --------------------------------------------------------------------------------------------
# Sections of the command outputs
# --------------------------------------------------------------------------------------------

@dataclass
class Section:
    kind: str
    arg: str
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def split_sections(output: str) -> list[Section]:
    """Split a command output into ``@@iacs KIND ARG`` sections (text before the first is dropped)."""
    sections: list[Section] = []
    for line in output.splitlines():
        if line.startswith(MARK + " "):
            kind, _, arg = line[len(MARK) + 1:].partition(" ")
            sections.append(Section(kind, arg))
        elif sections:
            sections[-1].lines.append(line)
    return sections
