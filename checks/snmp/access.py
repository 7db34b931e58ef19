"""SNMP access control on network devices: protocol versions, default communities, SNMPv3 security.

What SNMP itself can prove, and what it cannot (the checks below follow this strictly):

* **v1/v2c enabled** is proven when the audit session itself is v1/v2c and answered, when the VACM
  security-to-group table (readable over v3) maps SNMPv1/v2c security names to groups, or when a probe
  community answers. It is proven **disabled** only when the opt-in probe shows the agent counting our
  v1/v2c probes in ``snmpInBadVersions`` (discarded as an unsupported version) and none in
  ``snmpInBadCommunityNames``. A VACM table that maps no community is no proof: many industrial agents
  authorise communities outside VACM. Silence alone proves nothing: a rejected community and a missing
  agent look the same (the agent does not answer), so a silent probe is inconclusive.
* **Default communities** (opt-in probe, ``probe_default_communities: true`` on the endpoint): one
  GET of ``sysDescr.0`` per community of the documented list ``public``, ``private`` (factory
  defaults, public knowledge; :data:`auditor.protocols.snmp.DEFAULT_COMMUNITIES`) in SNMPv2c and
  SNMPv1, i.e. at most 4 packets, one per second, never retried, never more names (no brute force).
  Answering communities are reported by name. "Not accepted" is concluded only when the same agent
  answered the authenticated audit read moments before (so "no agent" is excluded); without that it
  is inconclusive. A site community configured on the endpoint is never named in evidence.
* **SNMPv3 security level**: the audit user's GET at each level below the configured one
  (``authNoPriv``, ``noAuthNoPriv``) must be refused (a timeout is inconclusive), and the readable VACM
  access table must grant no read below authPriv, to communities or users; an unreadable table leaves
  the other users unknown (``manual``). Weak protocols are judged for every user in view; the audit
  user alone proves nothing about the others.
* **Write access** is judged from the VACM tables only (write views and their subtrees). The auditor
  never sends a SET, so a write view hidden from its read view stays ``manual``.
"""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, error, failed, manual, not_applicable, passed
from checks.snmp.facts import AuthTraps, UsmUser, Vacm
from auditor.protocols.snmp import DEFAULT_COMMUNITIES

LEVELS = {1: "noAuthNoPriv", 2: "authNoPriv", 3: "authPriv"}
MODELS = {0: "any", 1: "SNMPv1", 2: "SNMPv2c", 3: "USM (SNMPv3)"}

_V12C_REMEDIATION = ("Disable SNMPv1/v2c and delete every community; configure SNMPv3 users with authPriv "
                     "(SHA-2 + AES) instead. Cisco IOS: `no snmp-server community <name>`, `snmp-server group "
                     "<grp> v3 priv`, `snmp-server user <user> <grp> v3 auth sha <key> priv aes 128 <key>`; "
                     "net-snmp: remove `rocommunity`/`rwcommunity`/`com2sec` lines; other vendors: the SNMP "
                     "settings page, 'SNMPv3 only'.")


def _probe_answers(probe: dict[str, Any]) -> list[str]:
    return [f"{r.get('community')} (v{r.get('version')})" for r in probe.get("results", [])
            if r.get("outcome") == "answered"]


def _sent(probe: dict[str, Any]) -> int:
    return sum(1 for r in probe.get("results", []) if r.get("via") != "audit session")


def _counter_delta(probe: dict[str, Any], name: str) -> int | None:
    before, after = probe.get("counters_before") or {}, probe.get("counters_after") or {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        return None
    a, b = before.get(name), after.get(name)
    if isinstance(a, int) and isinstance(b, int) and b >= a:
        return b - a
    return None


@check("snmp.version.v1-v2c-enabled",
       title="SNMPv1/v2c disabled (SNMPv3 only)",
       requirements=["SR 1.2", "SR 3.1", "SR 4.1", "CR 1.2", "CR 3.1", "CR 4.1"],
       applies_to=["network"], severity="high", remediation=_V12C_REMEDIATION)
def version_v1_v2c_enabled(snmp_session: dict[str, Any], snmp_vacm: Vacm,
                           snmp_community_probe: dict[str, Any]) -> Verdict:
    """SNMPv1/v2c authenticate with a community string sent in clear text, with no integrity protection and
    no encryption: anyone on the path can read it and reuse it (SR 1.2, SR 3.1, SR 4.1). Only SNMPv3 with
    USM authenticates the manager and protects the messages."""
    expected = "SNMPv1 and SNMPv2c disabled; management over SNMPv3 only"
    version = snmp_session["version"]
    community_models = sorted(m for m in snmp_vacm.group_models if m in (1, 2))
    observed: dict[str, Any] = {"audit_session_version": version,
                                "vacm_group_models": sorted(set(snmp_vacm.group_models)) or None}
    if version in ("1", "2c") and snmp_session.get("answered"):
        return failed(observed, expected, f"the agent answered the audit over SNMPv{version} with a community")
    answers = _probe_answers(snmp_community_probe) if snmp_community_probe.get("enabled") else []
    if answers:
        observed["probe_answers"] = answers
        return failed(observed, expected, f"the agent answered community probes: {', '.join(answers)}")
    if community_models:
        counts = {MODELS[m]: community_models.count(m) for m in sorted(set(community_models))}
        observed["community_mappings"] = counts
        return failed(observed, expected, "the VACM security-to-group table maps community security names "
                                          f"to access groups ({counts}): v1/v2c requests can be authorised")
    # A VACM table without community groups is no proof: many industrial agents authorise communities
    # outside VACM. Only the agent discarding our v1/v2c probes as unsupported versions proves v1/v2c off.
    vacm_note = ("the readable VACM table maps no community, but many agents authorise communities outside VACM"
                 if snmp_vacm.groups_visible else "the VACM tables are not readable")
    if snmp_community_probe.get("enabled"):
        bad_versions = _counter_delta(snmp_community_probe, "snmpInBadVersions")
        bad_names = _counter_delta(snmp_community_probe, "snmpInBadCommunityNames")
        observed.update(snmpInBadVersions_delta=bad_versions, snmpInBadCommunityNames_delta=bad_names)
        sent = _sent(snmp_community_probe)
        if sent and bad_versions is not None and bad_versions >= sent and bad_names == 0:
            return passed(observed, expected, f"the agent counted all {sent} v1/v2c probes as unsupported "
                                              "versions (snmpInBadVersions) and none as bad community names")
        return manual(f"no v1/v2c probe was answered, but silence does not prove v1/v2c is off (a community "
                      f"unknown to the auditor may still work) and {vacm_note}; verify in the device configuration "
                      "that SNMPv1/v2c is disabled", expected, observed)
    return manual(f"{vacm_note}, and the default-community probe is off (probe_default_communities: its "
                  "snmpInBadVersions counters can prove v1/v2c off); verify in the device configuration that "
                  "SNMPv1/v2c is disabled", expected, observed)


@check("snmp.community.default",
       title="No default SNMP community (public, private) accepted",
       requirements=["SR 1.5", "SR 1.2", "CR 1.5", "CR 1.2"],
       applies_to=["network"], severity="critical",
       remediation=("Delete the factory communities `public` and `private` (Cisco IOS: `no snmp-server community "
                    "public`, `no snmp-server community private`; net-snmp: remove `rocommunity public` / "
                    "`rwcommunity private`); better, disable SNMPv1/v2c and use SNMPv3 authPriv users."))
def community_default(snmp_session: dict[str, Any], snmp_community_probe: dict[str, Any]) -> Verdict:
    """Factory-default community strings are published in every manual and scanner wordlist: a device that
    accepts them gives its configuration (or, with `private`, write access) to anyone who can reach it
    (SR 1.5 default authenticators must be changeable and changed; SR 1.2 device authentication)."""
    expected = f"none of the default communities {list(DEFAULT_COMMUNITIES)} accepted (v1, v2c)"
    label = snmp_session.get("community")
    observed: dict[str, Any] = {"probe_enabled": snmp_community_probe.get("enabled"),
                                "audit_community": label}
    if snmp_session.get("version") in ("1", "2c") and label in DEFAULT_COMMUNITIES and snmp_session.get("answered"):
        observed["answered"] = [f"{label} (v{snmp_session['version']}, audit session)"]
        answers = _probe_answers(snmp_community_probe) if snmp_community_probe.get("enabled") else []
        observed["answered"] = sorted(set(observed["answered"]) | set(answers))
        return failed(observed, expected, f"the device is audited with the default community '{label}' and "
                                          "answers it")
    if not snmp_community_probe.get("enabled"):
        return manual("the default-community probe is off: set probe_default_communities: true on the endpoint "
                      f"(at most 4 GETs of sysDescr.0, one per second, communities {list(DEFAULT_COMMUNITIES)}) "
                      "or verify the configured communities by hand", expected, observed)
    results = snmp_community_probe.get("results", [])
    observed["probes"] = [{k: r.get(k) for k in ("community", "version", "outcome")} for r in results]
    answers = _probe_answers(snmp_community_probe)
    if answers:
        observed["answered"] = answers
        return failed(observed, expected, f"default communities answered: {', '.join(answers)}")
    if not results:
        return error("the default-community probe sent nothing")
    if not snmp_session.get("answered"):
        return manual("inconclusive: no probe was answered, but the agent did not answer the audit read either, "
                      "and a rejected community looks like a missing agent", expected, observed)
    unclear = [r for r in results if r.get("outcome") not in ("timeout", "rejected")]
    if unclear:
        return manual(f"inconclusive probe outcomes: {[r.get('outcome') for r in unclear]}", expected, observed)
    # silence is only a pass when the agent's own counters show it received and rejected the probes
    sent = _sent(snmp_community_probe)
    bad_names = _counter_delta(snmp_community_probe, "snmpInBadCommunityNames")
    bad_versions = _counter_delta(snmp_community_probe, "snmpInBadVersions")
    observed.update(snmpInBadCommunityNames_delta=bad_names, snmpInBadVersions_delta=bad_versions)
    rejected = (bad_names or 0) + (bad_versions or 0)
    if not sent or rejected < sent:
        return manual(f"none of the {len(results)} probes was answered, but the agent's counters do not show them "
                      f"rejected ({rejected} of {sent} counted as bad community names or versions): a filter may "
                      "have dropped them before the agent (from the auditor's address only); verify the configured "
                      "communities", expected, observed)
    return passed(observed, expected, f"none of the {len(results)} probes was answered, and the agent counted all "
                                      f"{sent} as bad community names or unsupported versions: the defaults are "
                                      "not accepted")


@check("snmp.v3.auth-priv",
       title="SNMP access requires SNMPv3 authPriv (authentication and encryption)",
       requirements=["SR 1.2", "SR 3.1", "SR 3.1 RE1", "SR 4.1", "SR 4.1 RE1", "CR 1.2", "CR 3.1", "CR 3.1 RE1",
                     "CR 4.1"],
       applies_to=["network"], severity="high",
       remediation=("Configure every SNMPv3 group with the `priv` security level and remove lower-level access "
                    "(Cisco IOS: `snmp-server group <grp> v3 priv`, no `noauth`/`auth` groups; net-snmp: "
                    "`rouser <user> priv`); disable SNMPv1/v2c."))
def v3_auth_priv(snmp_session: dict[str, Any], snmp_seclevel_probe: dict[str, Any], snmp_vacm: Vacm,
                 snmp_community_probe: dict[str, Any]) -> Verdict:
    """Only the authPriv security level authenticates every message (HMAC) and encrypts its content; at
    authNoPriv the configuration read travels in clear text, at noAuthNoPriv anyone who knows a user name
    reads it (SR 1.2 device authentication, SR 3.1 integrity, SR 4.1 confidentiality)."""
    expected = "SNMPv3 authPriv required; authNoPriv and noAuthNoPriv refused"
    version, level = snmp_session["version"], snmp_session.get("security_level")
    observed: dict[str, Any] = {"audit_session": f"v{version} {level}"}
    if version in ("1", "2c"):
        return failed(observed, expected, f"the agent answers SNMPv{version} community requests, which are "
                                          "neither authenticated nor encrypted")
    if level != "authPriv":
        return failed(observed, expected, f"the agent answered the audit user at {level}")
    lower = [a for a in snmp_vacm.access if (a.model != 3 or a.level < 3) and snmp_vacm.view_empty(a.read_view) is False]
    if lower:
        observed["vacm_access_below_authpriv"] = [{"model": MODELS[a.model], "level": LEVELS[a.level],
                                                   "read_view": a.read_view} for a in lower]
        communities = [a for a in lower if a.model != 3]
        return failed(observed, expected, ("VACM grants community (SNMPv1/v2c) read access" if communities
                                           else "VACM grants SNMPv3 read access below authPriv"))
    results = snmp_seclevel_probe.get("results", [])
    observed["lower_level_probes"] = [{k: r.get(k) for k in ("level", "outcome", "detail")} for r in results]
    accepted = [r["level"] for r in results if r.get("outcome") == "answered"]
    if accepted:
        return failed(observed, expected, f"the agent accepted the audit user at {', '.join(accepted)}")
    if not results:
        return error("the security-level probe sent nothing")
    if not all(r.get("outcome") == "rejected" for r in results):
        return manual("a lower-level probe got no answer (timeout): refused and unreachable look the same; verify "
                      "that every SNMPv3 group requires priv", expected, observed)
    if not snmp_vacm.access:
        return manual("the audit user is refused below authPriv, but the VACM access table is not readable, so "
                      "other users' and groups' security levels are unknown; verify that every SNMPv3 group "
                      "requires priv and no community has access", expected, observed)
    unresolved = [a for a in snmp_vacm.access
                  if (a.model != 3 or a.level < 3) and a.read_view and snmp_vacm.view_empty(a.read_view) is None]
    if unresolved:
        observed["read_views_unknown"] = [{"model": MODELS[a.model], "level": LEVELS[a.level],
                                           "read_view": a.read_view} for a in unresolved]
        return manual("VACM names read views for entries below authPriv, but the view tree is not readable, so "
                      "whether they grant anything is unknown; verify those views are empty", expected, observed)
    sent = _sent(snmp_community_probe) if snmp_community_probe.get("enabled") else 0
    discarded = _counter_delta(snmp_community_probe, "snmpInBadVersions") if sent else None
    if not sent or discarded is None or discarded < sent:
        return manual("the audit user is refused below authPriv and VACM grants nothing below it, but communities "
                      "can be authorised outside VACM and SNMPv1/v2c is not proven off (see "
                      "snmp.version.v1-v2c-enabled); verify that no community has access", expected, observed)
    return passed(observed, expected, "authPriv answered; every lower security level was refused, and no VACM "
                                      "access entry grants reads below authPriv")


@check("snmp.v3.weak-protocols",
       title="No SNMPv3 user with weak or no authentication/privacy protocol (MD5, DES)",
       requirements=["SR 4.3", "SR 3.1", "SR 4.1", "CR 4.3", "CR 3.1", "CR 4.1"],
       applies_to=["network"], severity="high",
       params={"weak_auth": ["none", "MD5"], "weak_priv": ["none", "DES", "3DES"]},
       remediation=("Re-create the affected SNMPv3 users with SHA-2 authentication (SHA-256 or better; SHA-1 only "
                    "where the device offers nothing else) and AES privacy: Cisco IOS `snmp-server user <user> "
                    "<grp> v3 auth sha <key> priv aes 128 <key>`; net-snmp `createUser <user> SHA-256 <key> AES "
                    "<key>`; delete users with MD5, DES or no privacy."))
def v3_weak_protocols(snmp_session: dict[str, Any], snmp_usm_users: list[UsmUser],
                      params: dict[str, Any]) -> Verdict:
    """HMAC-MD5-96 and CBC-DES are broken or too weak for current use (56-bit DES keys are brute-forced in
    hours); a user without privacy sends its data in clear. SR 4.3 requires cryptography per accepted
    practice."""
    weak_auth = {str(x).upper() for x in params.get("weak_auth", [])}
    weak_priv = {str(x).upper() for x in params.get("weak_priv", [])}
    expected = f"no user with authentication in {sorted(weak_auth)} or privacy in {sorted(weak_priv)}"
    seen: list[dict[str, str]] = []
    if snmp_session["version"] == "3" and snmp_session.get("username") not in {u.name for u in snmp_usm_users}:
        seen.append({"user": f"{snmp_session.get('username')} (audit session)",
                     "auth": str(snmp_session.get("auth_protocol")), "priv": str(snmp_session.get("priv_protocol"))})
    seen += [{"user": u.name, "auth": u.auth, "priv": u.priv} for u in snmp_usm_users]
    observed: dict[str, Any] = {"users": seen}
    if not seen:
        return not_applicable("no SNMPv3 user is visible: the audit ran over SNMPv1/v2c and the usmUserTable is "
                              "empty or not in view (v1/v2c is judged by snmp.version.v1-v2c-enabled)", observed)
    weak = [f"{u['user']}: auth {u['auth']}" for u in seen if u["auth"].upper() in weak_auth]
    weak += [f"{u['user']}: priv {u['priv']}" for u in seen if u["priv"].upper() in weak_priv]
    if weak:
        return failed(observed, expected, "weak SNMPv3 protocols: " + "; ".join(weak))
    unknown = [u["user"] for u in seen if u["auth"].lower().startswith(("unknown", "none?")) or
               u["priv"].lower().startswith(("unknown", "none?")) or not u["auth"] or not u["priv"]]
    if unknown:
        return manual(f"the authentication or privacy protocol of {', '.join(unknown)} is not recognised; verify "
                      "they use SHA-2 and AES", expected, observed)
    note = ""
    if not snmp_usm_users:
        return manual("the audit user's protocols are strong, but the usmUserTable is not in view, so other users' "
                      "protocols are unknown; verify that no SNMPv3 user uses MD5, DES or no privacy" + note,
                      expected, observed)
    return passed(observed, expected, f"{len(seen)} SNMPv3 user(s) checked" + note)


@check("snmp.access.write-view",
       title="No SNMP write access without SNMPv3 authPriv",
       requirements=["SR 2.1", "SR 1.2", "CR 2.1", "CR 1.2"],
       applies_to=["network"], severity="critical",
       params={"write_requires": "authPriv"},
       remediation=("Remove write communities and write views for community-based or low-security groups "
                    "(Cisco IOS: `no snmp-server community <name> RW`, groups without `write` view; net-snmp: "
                    "no `rwcommunity`/`rwuser ... noauth|auth`); if SNMP writes are needed at all, allow them "
                    "only to a dedicated SNMPv3 authPriv user restricted to the needed subtree."))
def access_write_view(snmp_vacm: Vacm, params: dict[str, Any]) -> Verdict:
    """A writable community or unauthenticated write view lets anyone who learns a clear-text string change
    the switch's configuration: VLANs, port states, routes (SR 2.1 authorization enforcement). Judged from
    the VACM tables; the auditor never tries a SET."""
    required = {v: k for k, v in LEVELS.items()}.get(str(params.get("write_requires", "authPriv")))
    if required is None:
        return error(f"write_requires must be one of {list(LEVELS.values())}")
    expected = f"write views only for SNMPv3 groups at {LEVELS[required]}"
    if not snmp_vacm.access:
        return manual("the VACM access table is not readable to the auditor; verify in the configuration that no "
                      "community and no low-security user has a write view", expected)
    risky, unknown = [], []
    for entry in snmp_vacm.access:
        if entry.model == 3 and entry.level >= required:
            continue
        empty = snmp_vacm.view_empty(entry.write_view) if entry.write_view_known else None
        described = {"model": MODELS[entry.model], "level": LEVELS[entry.level], "write_view": entry.write_view}
        if empty is False:
            risky.append(described)
        elif empty is None:
            unknown.append(described)
    observed = {"access_entries": len(snmp_vacm.access), "writable_low_security": risky or None,
                "write_view_contents_unknown": unknown or None}
    if risky:
        what = "entry grants" if len(risky) == 1 else "entries grant"
        return failed(observed, expected, f"{len(risky)} VACM access {what} write access without SNMPv3 "
                                          + LEVELS[required])
    if unknown:
        return manual("write views are named for low-security groups but the view tree table is not readable; "
                      "verify that these views are empty", expected, observed)
    return passed(observed, expected, "no community-based or low-security group has a non-empty write view")


@check("snmp.auth.failure-traps",
       title="SNMP authentication-failure notifications enabled",
       requirements=["SR 2.8", "SR 6.2", "CR 2.8", "CR 6.2"],
       applies_to=["network"], severity="low",
       remediation=("Enable authentication-failure traps and send them to the monitoring system (Cisco IOS: "
                    "`snmp-server enable traps snmp authentication` + `snmp-server host <nms> version 3 priv "
                    "<user>`; net-snmp: `authtrapenable 1` + `trap2sink`/`informsink`)."))
def auth_failure_traps(snmp_auth_traps: AuthTraps) -> Verdict:
    """Repeated wrong communities or keys are how SNMP credentials are guessed; without authenticationFailure
    notifications nobody sees it (SR 2.8 auditable events, SR 6.2 continuous monitoring)."""
    expected = "snmpEnableAuthenTraps = enabled(1)"
    observed = {"snmpEnableAuthenTraps": snmp_auth_traps.enabled,
                "snmpInBadCommunityNames": snmp_auth_traps.bad_community_names}
    if snmp_auth_traps.enabled is None:
        return manual("snmpEnableAuthenTraps.0 is not readable; verify the trap configuration by hand", expected,
                      observed)
    if snmp_auth_traps.enabled == 1:
        return passed(observed, expected, "the agent emits authenticationFailure notifications (their "
                                          "destination is not visible over SNMP reads)")
    return failed(observed, expected, "authenticationFailure notifications are disabled")
