"""Evidence of the Linux pack: what is read over SSH and how it becomes typed facts.

One module per source of evidence. Each declares its requests (the exact commands: they are the identity
of the evidence items, so recorded evidence and the history store are keyed by them; each also has a short
name, ``<module>.<what>`` such as ``files.dump``, by which the simulator fixtures answer it), parses their
output and registers the ``@fact`` functions that checks name as parameters:

* :mod:`.commands` (helpers): how a command answered (tool missing, needs root, first line);
* :mod:`.parsing` (helpers): ``head -v`` multi-file dumps, ``key value`` files, comments, integers;
* :mod:`.files`: the composed file dump ``FILES`` and stat listing ``STAT`` shared by the system facts
  (``sys_stats``), key=value config files from the dump;
* :mod:`.systemd`: ``systemctl list-units`` (``sys_units``);
* :mod:`.packages`: dpkg/rpm package lists, apt/dnf pending updates, repository signature settings
  (``sys_packages``, ``sys_upgrades``, ``sys_signature_policy``);
* :mod:`.system`: OS release, kernel parameters, Secure Boot, SELinux/AppArmor, cron, modprobe/limits/
  coredump/issue/profile settings (``sys_os``, ``sys_sysctl``, ``sys_secure_boot``, ``sys_mac``,
  ``sys_cron``, ``sys_hardening``);
* :mod:`.filesystem`: the bounded ``find`` of world-writable paths, ``lsblk`` (``sys_world_writable``,
  ``sys_block_devices``);
* :mod:`.audit`: ``auditctl -s``/``-l``, auditd.conf (``sys_audit_status``, ``sys_audit_rules``,
  ``sys_audit_config``);
* :mod:`.logs`: journald, rsyslog, syslog-ng, journal-upload, audisp-remote (``sys_logging``);
* :mod:`.timesync`: timedatectl, chronyc, chrony/ntp/timesyncd configuration (``sys_time``);
* :mod:`.firewall`: nft, iptables/ip6tables, ufw/firewalld/nftables configuration (``sys_firewall``);
* :mod:`.network`: ``ss -ltnu`` and the audited SSH port (``sys_listeners``, ``sys_ssh_port``);
* :mod:`.accounts`: /etc/passwd, login.defs, the /etc/shadow summary, ``useradd -D`` (``acct_files``,
  ``acct_shadow``, ``acct_useradd_defaults``);
* :mod:`.pam`: PAM service stacks and pwquality/faillock/pwhistory settings (``acct_pam``);
* :mod:`.sudoers`: /etc/sudoers and /etc/sudoers.d (``acct_sudoers``);
* :mod:`.optional` (helper): a fact registered with a ``_maybe`` variant that returns ``Missing``;
* :mod:`.sshd_commands`: the sshd discovery commands and the sections of their output;
* :mod:`.openssh`: OpenSSH semantics (defaults, keywords, Include, Match, sshd command lines);
* :mod:`.sshd`: the audited sshd instance's configuration, session info and KEXINIT (``sshd_config``,
  ``sshd_session``, ``sshd_wire``).

Every module of this package is imported here, so its facts are registered whatever the checks import.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__, prefix=f"{__name__}."):
    importlib.import_module(_module.name)
