"""Identification and authentication (FR1) of a network device, from its running configuration.

Who may log in, how their authenticators are stored, how failed logins are limited and what they are
told before they log in. Secrets never reach these checks: the connector removed them and kept the
storage type (0 clear, 7 reversible, 5 MD5, 8 PBKDF2-SHA256, 9 scrypt), which is what is judged.
"""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, failed, manual, not_applicable, passed
from checks.netcli.facts import SshServer
from checks.netcli.model import NetConfig, not_shown

_STORAGE = {"0": "clear text", "7": "reversible (type 7)", "5": "MD5 (type 5)", "4": "broken SHA-256 (type 4)",
            "8": "PBKDF2-SHA256 (type 8)", "9": "scrypt (type 9)"}


@check("netcli.aaa.central",
       title="Logins are authenticated by a central AAA server, local users only as fallback",
       requirements=["CR 1.1", "CR 1.1 RE1", "CR 1.3"], applies_to=["network"], severity="high",
       remediation=("Authenticate logins against TACACS+ or RADIUS with per-person accounts, keeping one local "
                    "break-glass user as fallback (Cisco IOS: `aaa new-model`, `aaa group server tacacs+ NAME`, "
                    "`aaa authentication login default group NAME local`). "
                    "HiOS: `radius server add 1 ADDRESS`, `authlists set-policy defaultLoginAuthList radius local "
                    "reject reject reject`."))
def aaa_central(cli_config: NetConfig) -> Verdict:
    """Shared local accounts on a switch cannot tell who made a change; a central AAA server gives each person
    their own account, removed in one place when they leave (unique identification, account management)."""
    methods = list(cli_config.aaa_login_methods)
    observed = {"aaa_new_model": cli_config.aaa_enabled, "login_default": " ".join(methods) or None}
    expected = "aaa new-model and a default login list that starts with a TACACS+/RADIUS group"
    if not cli_config.aaa_enabled:
        return failed(observed, expected, "AAA is off: logins use line passwords or local users only")
    if not methods or not methods[0].startswith("group "):
        return failed(observed, expected, "the default login list does not start with an AAA server group")
    return passed(observed, expected, f"logins go to {methods[0]} first")


@check("netcli.users.secret-storage",
       title="Local passwords are stored as type 8 or 9 hashes, never clear or reversible",
       requirements=["CR 1.5", "CR 4.3"], applies_to=["network"], severity="high",
       remediation=("Re-create each local user and line password with a strong hash (Cisco IOS: `username NAME "
                    "algorithm-type scrypt secret PASSWORD`; remove line `password` lines and use `login local` or "
                    "AAA). `service password-encryption` only produces reversible type 7: it is no protection."))
def secret_storage(cli_config: NetConfig) -> Verdict:
    """A configuration backup or a `show running-config` printout reveals type 0 and type 7 passwords at once
    (type 7 is reversible by public tools) and MD5 (type 5) falls to cheap brute force."""
    if (unknown := not_shown(cli_config, "secrets", expected="every local password stored as a strong hash")):
        return unknown
    weak = {s.owner: _STORAGE.get(s.storage, f"type {s.storage}") for s in cli_config.secrets if not s.strong}
    observed = {s.owner: _STORAGE.get(s.storage, f"type {s.storage}") for s in cli_config.secrets}
    expected = "every local user and line password stored as type 8 or 9"
    if weak:
        return failed(observed, expected, "weakly stored: " + ", ".join(f"{k} ({v})" for k, v in weak.items()))
    if not observed:
        return passed({}, expected, "the configuration stores no local user or line password")
    return passed(observed, expected, "every stored password is a type 8 or 9 hash")


@check("netcli.enable.secret",
       title="The enable secret is a strong hash and no enable password is set",
       requirements=["CR 1.5", "CR 2.1"], applies_to=["network"], severity="high",
       remediation=("Remove `enable password` and set `enable algorithm-type scrypt secret PASSWORD` (Cisco IOS); "
                    "better, authorise privilege 15 per person through AAA (`aaa authentication enable default "
                    "group NAME enable`)."))
def enable_secret(cli_config: NetConfig) -> Verdict:
    """The enable secret guards privilege 15, which can change every setting; `enable password` is stored
    reversibly and wins nothing over a secret, and an MD5 secret is brute-forced cheaply."""
    if not cli_config.enable_levels:
        return not_applicable("the platform has no enable password: privilege comes from each user's role",
                              {"platform": cli_config.platform})
    secret = cli_config.enable_secret
    observed = {"enable_secret": _STORAGE.get(secret.storage) if secret else None,
                "enable_password": cli_config.enable_password_set}
    expected = "enable secret of type 8 or 9, no enable password"
    if cli_config.enable_password_set:
        return failed(observed, expected, "an `enable password` is configured (reversible)")
    if secret is None:
        return failed(observed, expected, "no enable secret: privilege 15 is unprotected or reached only by AAA "
                                          "without a fallback secret")
    if not secret.strong:
        return failed(observed, expected, f"the enable secret is stored as {_STORAGE.get(secret.storage)}")
    return passed(observed, expected)


@check("netcli.password.min-length",
       title="A minimum password length is enforced for local passwords",
       requirements=["CR 1.7"], applies_to=["network"], severity="medium", params={"min_length": 8},
       remediation=("Set `security passwords min-length 12` (Cisco IOS) or the site's minimum. "
                    "HiOS: `passwords min-length 12`."))
def password_min_length(cli_config: NetConfig, params: dict[str, Any]) -> Verdict:
    """Without a minimum length the device accepts one-character local and enable passwords, which any
    password-strength requirement forbids."""
    wanted = int(params.get("min_length", 8))
    found = cli_config.password_min_length
    expected = f"security passwords min-length >= {wanted}"
    if found is None:
        return failed(None, expected, "no minimum password length is configured")
    if found < wanted:
        return failed(found, expected)
    return passed(found, expected)


@check("netcli.login.block",
       title="Repeated failed logins block further attempts for a while",
       requirements=["CR 1.11"], applies_to=["network"], severity="medium", params={"max_attempts": 5},
       remediation=("Set `login block-for 120 attempts 3 within 60` and `login quiet-mode access-class "
                    "MGMT-HOSTS` so management hosts are not locked out (Cisco IOS). "
                    "HiOS: `passwords max-login-attempts 3`, `passwords login-attempt-period 2`."))
def login_block(cli_config: NetConfig, params: dict[str, Any]) -> Verdict:
    """Without a limit on failed logins, passwords of the management accounts can be guessed over the network
    at the speed the device answers."""
    wanted = int(params.get("max_attempts", 5))
    block = cli_config.login_block
    expected = f"login block-for with at most {wanted} attempts"
    if block is None:
        return failed(None, expected, "no login block-for: failed logins are not limited")
    observed = {"block_seconds": block[0], "attempts": block[1], "within_seconds": block[2]}
    if block[1] > wanted:
        return failed(observed, expected)
    return passed(observed, expected)


@check("netcli.ssh.auth-retries",
       title="The SSH server allows at most 3 authentication attempts per connection",
       requirements=["CR 1.11"], applies_to=["network"], severity="low", params={"max_retries": 3},
       remediation="Set `ip ssh authentication-retries 3` and `ip ssh time-out 60` (Cisco IOS).")
def ssh_retries(cli_ssh: SshServer, params: dict[str, Any]) -> Verdict:
    """Each SSH connection that allows many password attempts multiplies the guessing rate an attacker gets
    before any login blocking reacts."""
    wanted = int(params.get("max_retries", 3))
    expected = f"at most {wanted} authentication retries"
    if cli_ssh.retries is None:
        return manual("the device does not report its SSH server's authentication retries (HiOS has no `show ip "
                      "ssh`): check the limit in its documentation or web interface", expected)
    observed = {"retries": cli_ssh.retries, "timeout_seconds": cli_ssh.timeout}
    return (passed if cli_ssh.retries <= wanted else failed)(observed, expected)


@check("netcli.banner.login",
       title="A login banner warns before authentication",
       requirements=["CR 1.12"], applies_to=["network"], severity="low",
       remediation=("Configure `banner login` with the site's authorised-use notice, without the host name, model "
                    "or software version (Cisco IOS: `banner login ^C ... ^C`). "
                    "HiOS: `system pre-login-banner text \"...\"`, `system pre-login-banner operation`."))
def banner_login(cli_config: NetConfig) -> Verdict:
    """The system use notification tells a user before login that access is restricted and monitored, which
    the requirement asks for and which legal action after misuse often depends on."""
    banners = {k: v for k, v in cli_config.banners.items() if k in ("login", "motd") and v.strip()}
    expected = "a login or motd banner with an authorised-use notice"
    if not banners:
        return failed(None, expected, "no login or motd banner")
    text = " ".join(banners.values())
    if cli_config.hostname and cli_config.hostname.lower() in text.lower():
        return failed(banners, expected, "the banner names the device before login")
    return passed(banners, expected)


@check("netcli.snmp.default-community",
       title="No factory-default SNMP community (public, private) is configured",
       requirements=["CR 1.5", "CR 1.2"], applies_to=["network"], severity="critical",
       remediation=("Remove `snmp-server community public` / `private`; use SNMPv3 users with authPriv "
                    "(`snmp-server group NAME v3 priv`, `snmp-server user ...`). "
                    "HiOS: `no snmp access version v1`, `no snmp access version v2`."))
def default_community(cli_config: NetConfig) -> Verdict:
    """A default community is a password everyone knows: it gives any host on the network the device's
    configuration data (and with RW, control of it)."""
    defaults = [f"{c.name} {c.access}" for c in cli_config.snmp_communities if c.name in ("public", "private")]
    observed = [f"{c.name} {c.access}" for c in cli_config.snmp_communities] or None
    expected = "no community named public or private"
    if defaults:
        return failed(observed, expected, "default communities: " + ", ".join(defaults))
    return passed(observed, expected)


@check("netcli.vty.access-class",
       title="Remote management lines accept only the management network",
       requirements=["NDR 1.13", "CR 7.7"], applies_to=["network"], severity="high",
       remediation=("Apply an inbound access-class that permits only the management hosts to every vty line "
                    "(Cisco IOS: `ip access-list standard MGMT-HOSTS`, `line vty 0 15`, `access-class MGMT-HOSTS "
                    "in`). "
                    "HiOS: `network management access add`/`modify` entries and `network management access "
                    "operation`."))
def vty_access_class(cli_config: NetConfig) -> Verdict:
    """Without an access-class every network that reaches the device may try to log in to it, including
    networks the zone model treats as untrusted."""
    vtys = [line for line in cli_config.lines if line.kind == "vty"]
    observed = {line.name: line.access_class_in for line in vtys}
    expected = "an inbound access-class on every vty line"
    if not vtys:
        return failed(observed, expected, "the configuration shows no vty lines")
    missing = [name for name, acl in observed.items() if not acl]
    if missing:
        return failed(observed, expected, "no access-class on " + ", ".join(f"line {m}" for m in missing))
    return passed(observed, expected)


@check("netcli.port.authentication",
       title="Every active access port admits only known devices (port security or 802.1X)",
       requirements=["CR 1.2"], applies_to=["network"], severity="medium",
       remediation=("Enable port security with a small maximum and sticky or static MAC addresses, or 802.1X/MAB, "
                    "on every access port (Cisco IOS: `switchport port-security`, `switchport port-security "
                    "maximum 2`, `switchport port-security mac-address sticky`). "
                    "HiOS: `port-security operation` on each access port."))
def port_authentication(cli_config: NetConfig) -> Verdict:
    """An open access port lets any laptop plugged into the cabinet join the control network as a device
    of the cell; port security or 802.1X identifies what may connect."""
    edge = [p for p in cli_config.ports if p.edge and p.active]
    open_ports = [p.name for p in edge if not (p.port_security or p.dot1x)]
    observed = {p.name: "port-security" if p.port_security else "802.1X" if p.dot1x else None for p in edge}
    expected = "port security or 802.1X on every active access port"
    if not edge:
        return failed(observed, expected, "no active access port was found to judge")
    if open_ports:
        return failed(observed, expected, "open: " + ", ".join(open_ports))
    return passed(observed, expected)
