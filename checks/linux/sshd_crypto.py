"""``linux.sshd.*`` checks (2 of 3): the algorithms sshd offers and the strength of its host keys.

Judged on the configuration and on the KEXINIT the server sends before authentication (what an attacker
sees); where the two disagree, the wire wins.
"""

from __future__ import annotations

import fnmatch
from typing import Any, Iterable

from auditor.registry import check
from checks.linux import EMBEDDED_LINUX
from auditor.verdicts import Verdict, error, failed, manual, passed
from checks.linux.facts.optional import Missing
from checks.linux.facts.sshd import SshdConfig
from checks.linux.sshd import RELOAD

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
       applies_to=EMBEDDED_LINUX, severity="high", params=WEAK_DEFAULTS,
       remediation="Debian/Ubuntu: set explicit lists in /etc/ssh/sshd_config.d/00-iec62443.conf, e.g. "
                   "'KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,"
                   "diffie-hellman-group16-sha512,diffie-hellman-group18-sha512', 'Ciphers chacha20-poly1305@openssh.com,"
                   "aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr', "
                   "'MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,umac-128-etm@openssh.com', "
                   "'HostKeyAlgorithms ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256'. RHEL: the lists come "
                   "from crypto-policies (Include /etc/crypto-policies/back-ends/opensshserver.config in "
                   "50-redhat.conf); use 'update-crypto-policies --set DEFAULT:NO-SHA1' or FUTURE (or a custom "
                   "policy module) rather than editing the back-end file. " + RELOAD)
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


@check("linux.sshd.host-key-strength", title="SSH: strong host keys",
       requirements=["SR 1.9", "SR 4.3", "CR 1.9", "CR 4.3"], applies_to=EMBEDDED_LINUX, severity="medium",
       params={"min_rsa_bits": 2048, "min_ecdsa_bits": 256},
       remediation="Remove DSA keys and RSA keys below the minimum: e.g. 'ssh-keygen -t rsa -b 3072 -f "
                   "/etc/ssh/ssh_host_rsa_key' (or use only ed25519: 'ssh-keygen -t ed25519 -f "
                   "/etc/ssh/ssh_host_ed25519_key'), list the keys with 'HostKey' lines in "
                   "/etc/ssh/sshd_config.d/00-iec62443.conf and distribute the new fingerprints to clients. "
                   "RHEL: crypto-policies also enforce RequiredRSASize. " + RELOAD)
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
    if unreadable:  # a key whose size could not be measured may be the weak one
        return manual(f"the size of {', '.join(unreadable)} could not be read (ssh-keygen -l failed); verify it",
                      expected, observed)
    return passed(observed, expected, "judged on the offered algorithms only" if not keys else "")
