"""Evidence of the Windows pack: the PowerShell sections, their JSON and the typed facts.

* :mod:`.sections`: every section's PowerShell text (the identity of its evidence item) and its name;
* :mod:`.json`: how a section's answer becomes JSON (or why it is unavailable);
* :mod:`.policy`: ``secedit /export`` (password, lockout, account and user-rights policy), the registry
  values the checks read, ``auditpol /get /r`` (``win_secpol``, ``win_registry``, ``win_audit_policy``);
* :mod:`.accounts`: local users and the members of Administrators / Remote Desktop Users
  (``win_users``, ``win_groups``);
* :mod:`.system`: OS, Defender / Security Center, Secure Boot, Device Guard, BitLocker, AppLocker,
  hotfixes, installed software, shadow copies, the time service (``win_os``, ``win_antivirus``...);
* :mod:`.network`: firewall profiles, SMB server, TCP listeners, services, event logs.

Property names are those the cmdlets return; enumerations are turned into their names (``[string]``) in
the section, because ``ConvertTo-Json`` of Windows PowerShell 5.1 writes an enum as its number, and dates
into ISO 8601 text (5.1 writes ``\\/Date(ms)\\/``). Localised tool output is avoided: ``secedit`` keys and
``auditpol /r`` GUIDs are culture independent; ``auditpol``'s setting text and ``w32tm``'s labels are
read in English and German.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__, prefix=f"{__name__}."):
    importlib.import_module(_module.name)
