"""linux.firewall.*, linux.network.*, linux.services.* (checks/linux/firewall.py, network.py, services.py;
evidence in checks/linux/facts/firewall.py, network.py, system.py): host firewall (nft, iptables/ip6tables,
ufw/firewalld/nftables config), IP forwarding, network kernel parameters, listening services and
clear-text services, on Debian 12 / Ubuntu 22.04 / RHEL 9 outputs (tests/unit/linux/recorded/*/network_*),
variants, and garbage."""

from __future__ import annotations

import pytest
from system_evidence import DISTROS, SESSION, recorded, recorded_host

from auditor.facts import CommandOutput
from checks.linux.facts.firewall import (IPTABLES_RULES, NFT_RULESET, nft_verdict, parse_firewall_config,
                                         parse_iptables, parse_nft, ruleset_from_nft, rulesets_from_iptables)
from checks.linux.facts.network import parse_listeners
from checks.linux.facts.parsing import parse_files

NETWORK_HARDENED = {
    "net.ipv4.conf.all.accept_redirects": 0, "net.ipv4.conf.default.accept_redirects": 0,
    "net.ipv6.conf.all.accept_redirects": 0, "net.ipv6.conf.default.accept_redirects": 0,
    "net.ipv4.conf.all.secure_redirects": 0, "net.ipv4.conf.all.send_redirects": 0,
    "net.ipv4.conf.default.send_redirects": 0, "net.ipv4.conf.default.accept_source_route": 0,
}


# ------------------------------------------------------------------------------------ parsers

def test_nft_parser_debian_inet_filter() -> None:
    chains = parse_nft(recorded("debian12", "network_nft.txt"))
    assert [(c.family, c.table, c.name, c.hook, c.policy) for c in chains] == [
        ("inet", "filter", "input", "input", "drop"), ("inet", "filter", "forward", "forward", "drop"),
        ("inet", "filter", "output", "output", "accept")]
    assert len(chains[0].rules) == 6 and chains[0].rules[-1].startswith("counter packets 118")


def test_nft_parser_rhel_firewalld_and_walk() -> None:
    text = recorded("rhel9", "network_nft.txt")
    chains = {c.name: c for c in parse_nft(text)}
    assert chains["filter_INPUT"].hook == "input" and chains["filter_INPUT"].policy == "accept"
    assert chains["filter_IN_public_allow"].rules == ["tcp dport 22 accept", "ip6 daddr fe80::/64 udp dport 546 accept",
                                                      "tcp dport 9090 accept"]
    assert "mangle_PREROUTING" in chains and "helper-netbios-ns-udp" not in chains   # ct helper block skipped
    ruleset = ruleset_from_nft(CommandOutput(text, 0, True))
    assert [(c.label, c.policy, c.default) for c in ruleset.chains] == [
        ("inet firewalld filter_INPUT", "accept", "drop")]        # final reject after the zone dispatch
    assert ruleset.open_interfaces == ()


def test_nft_verdicts() -> None:
    assert nft_verdict('counter packets 118 bytes 9421 log prefix "nft-drop: " drop') == ("drop", None)
    assert nft_verdict("reject with icmpx admin-prohibited") == ("drop", None)
    assert nft_verdict("goto filter_IN_public") == ("goto", "filter_IN_public")
    assert nft_verdict("tcp dport 22 accept") is None


def test_nft_trusted_zone_interface_is_open() -> None:
    text = recorded("rhel9", "network_nft.txt").replace(
        '\tchain filter_INPUT_ZONES {\n\t\tiifname "enp1s0" goto filter_IN_public\n',
        '\tchain filter_INPUT_ZONES {\n\t\tiifname "enp2s0" goto filter_IN_trusted\n\t\tiifname "enp1s0" goto filter_IN_public\n'
    ).replace("\tchain filter_IN_public_pre {\n", "\tchain filter_IN_trusted {\n\t\tjump filter_IN_public_pre\n\t\taccept\n\t}\n\n"
              "\tchain filter_IN_public_pre {\n")
    ruleset = ruleset_from_nft(CommandOutput(text, 0, True))
    assert ruleset.open_interfaces == ("enp2s0",) and ruleset.chains[0].default == "drop"


@pytest.mark.parametrize("distro,states", [("debian12", ("ok", "ok")), ("ubuntu2204", ("ok", "ok")),
                                           ("rhel9", ("absent", "absent"))])
def test_iptables_halves(distro: str, states: tuple[str, str]) -> None:
    text = recorded(distro, "network_iptables.txt")
    rulesets = rulesets_from_iptables(CommandOutput(text, 127 if "not found" in text else 0, True))
    assert tuple(r.state for r in rulesets) == states
    if states[0] == "ok":
        assert rulesets[0].chains[0].default == "accept" and rulesets[1].chains[0].families == ("ipv6",)


def test_iptables_ufw_style_rules_and_not_root() -> None:
    text = ("-P INPUT DROP\n-P FORWARD DROP\n-P OUTPUT ACCEPT\n-N ufw-before-input\n-N ufw-user-input\n"
            "-A INPUT -j ufw-before-input\n-A ufw-before-input -i lo -j ACCEPT\n"
            "-A ufw-before-input -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
            "-A ufw-before-input -j ufw-user-input\n-A ufw-user-input -p tcp -m tcp --dport 22 -j ACCEPT\n"
            "-A ufw-user-input -i eth9 -m comment --comment \"trusted lab\" -j ACCEPT\n")
    chains = parse_iptables(text, "ip")
    assert {c.name for c in chains} == {"INPUT", "FORWARD", "OUTPUT", "ufw-before-input", "ufw-user-input"}
    ruleset = rulesets_from_iptables(CommandOutput(text + "# ip6tables -S\n" + text, 0, True))[0]
    assert ruleset.chains[0].default == "drop" and ruleset.open_interfaces == ("eth9",)
    refused = rulesets_from_iptables(CommandOutput(
        "iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)\n"
        "# ip6tables -S\nip6tables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied "
        "(you must be root)\n", 4))
    assert [r.state for r in refused] == ["needs-root", "needs-root"]


@pytest.mark.parametrize("distro,expected", [
    ("debian12", ["127.0.0.1:323/udp", "[::1]:323/udp", "0.0.0.0:22/tcp", "[::]:22/tcp"]),
    ("ubuntu2204", ["127.0.0.53%lo:53/udp", "10.0.2.15%enp0s3:68/udp", "127.0.0.53%lo:53/tcp", "0.0.0.0:22/tcp",
                    "[::]:22/tcp"]),
    ("rhel9", ["127.0.0.1:323/udp", "[::1]:323/udp", "0.0.0.0:22/tcp", "*:9090/tcp", "[::]:22/tcp"]),
])
def test_ss_parser(distro: str, expected: list[str]) -> None:
    listeners = parse_listeners(recorded(distro, "network_ss.txt"))
    assert [str(lst) for lst in listeners] == expected
    assert [lst.loopback for lst in listeners][:1] == [True]


def test_ss_parser_old_iproute_format() -> None:
    text = ("State      Recv-Q Send-Q Local Address:Port               Peer Address:Port\n"
            "tcp   LISTEN     0      128          *:22                       *:*\n"
            "tcp   LISTEN     0      128         :::22                      :::*\n")
    assert [lst.spec for lst in parse_listeners(text)] == ["22/tcp", "22/tcp"]


def test_firewall_config_parser() -> None:
    ubuntu = parse_firewall_config(parse_files(recorded("ubuntu2204", "network_files.txt")))
    assert ubuntu.ufw_enabled is False and ubuntu.ufw_input_policy == "DROP"
    rhel = parse_firewall_config(parse_files(recorded("rhel9", "network_files.txt")))
    assert (rhel.firewalld_zone, rhel.firewalld_target) == ("public", "default")


# ------------------------------------------------------------------------------------ firewall

@pytest.mark.parametrize("distro,status", [("debian12", "pass"), ("ubuntu2204", "fail"), ("rhel9", "pass")])
def test_firewall_default_deny(distro: str, status: str) -> None:
    assert recorded_host(distro).check("linux.firewall.default-deny").status == status


def test_firewall_ipv6_gap_and_no_tools() -> None:
    ev = recorded_host("debian12")
    ev.out(NFT_RULESET, "", 0)
    ev.out(IPTABLES_RULES, "-P INPUT DROP\n-P FORWARD DROP\n-P OUTPUT ACCEPT\n# ip6tables -S\n"
                           "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n", 0)
    verdict = ev.check("linux.firewall.default-deny")
    assert verdict.status == "fail" and verdict.reason == "IPv6 input is accepted by default"
    ev = recorded_host("rhel9")
    ev.missing(NFT_RULESET)
    assert "neither nft nor iptables" in ev.check("linux.firewall.default-deny").reason


def test_firewall_with_ipv6_on_and_no_ipv6_rule_set_is_manual() -> None:
    ev = recorded_host("debian12")
    ev.out(NFT_RULESET, "Operation not permitted (you must be root)\n", 1)
    ev.out(IPTABLES_RULES, "-P INPUT DROP\n-P FORWARD DROP\n-P OUTPUT ACCEPT\n", 0)  # no ip6tables section
    verdict = ev.check("linux.firewall.default-deny")
    assert verdict.status == "manual" and "IPv6" in verdict.reason


def test_firewall_without_root_judges_configuration_or_errors() -> None:
    verdict = recorded_host("rhel9", sudo=False).check("linux.firewall.default-deny")
    # what the configuration says should be loaded is no proof of the live rules
    assert verdict.status == "manual" and "configuration alone says" in verdict.reason
    verdict = recorded_host("debian12", sudo=False).check("linux.firewall.default-deny")
    assert verdict.status == "error" and "sudo -n" in verdict.reason     # nothing positive in the config


# ------------------------------------------------------------------------------------ sysctl

def test_kernel_parameters_missing_outside_ipv6_are_manual() -> None:
    from system_evidence import fixture_host, sysctl_path

    assert fixture_host("hardened").check("linux.network.kernel-parameters").status == "pass"
    ev = fixture_host("hardened").set_file(sysctl_path("net.ipv4.tcp_syncookies"), None)
    verdict = ev.check("linux.network.kernel-parameters")
    assert verdict.status == "manual" and "net.ipv4.tcp_syncookies" in verdict.reason


@pytest.mark.parametrize("distro", DISTROS)
def test_ip_forwarding_pass(distro: str) -> None:
    assert recorded_host(distro).check("linux.network.ip-forwarding").status == "pass"


def test_ip_forwarding_fail_and_router() -> None:
    ev = recorded_host("rhel9").set_sysctl("net.ipv6.conf.all.forwarding", 1)
    verdict = ev.check("linux.network.ip-forwarding")
    assert verdict.status == "fail" and "net.ipv6.conf.all.forwarding" in verdict.reason
    assert ev.check("linux.network.ip-forwarding", router=True).status == "not_applicable"


@pytest.mark.parametrize("distro", DISTROS)
def test_network_kernel_parameters_fail_on_defaults(distro: str) -> None:
    verdict = recorded_host(distro).check("linux.network.kernel-parameters")
    assert verdict.status == "fail" and "accept_redirects" in verdict.reason


def test_network_kernel_parameters_pass_when_hardened() -> None:
    ev = recorded_host("ubuntu2204")
    for key, value in NETWORK_HARDENED.items():
        ev.set_sysctl(key, value)
    assert ev.check("linux.network.kernel-parameters").status == "pass"
    verdict = ev.check("linux.network.kernel-parameters", rp_filter_allowed=[1])
    assert verdict.status == "fail" and "reverse-path" in verdict.reason


# ------------------------------------------------------------------------------------ listeners

@pytest.mark.parametrize("distro,status", [("debian12", "pass"), ("ubuntu2204", "pass"), ("rhel9", "fail")])
def test_listening_allow_list(distro: str, status: str) -> None:
    verdict = recorded_host(distro).check("linux.services.listening-allow-list")
    assert verdict.status == status
    if distro == "rhel9":
        assert verdict.observed["not_allowed"] == ["*:9090/tcp"]


def test_listening_allow_list_params() -> None:
    assert recorded_host("rhel9").check("linux.services.listening-allow-list",
                                        allowed=["22/tcp", "9000-9100/tcp"]).status == "pass"
    verdict = recorded_host("ubuntu2204").check("linux.services.listening-allow-list", ignored=[])
    assert verdict.status == "fail" and "68/udp" in verdict.reason
    ev = recorded_host("debian12").replace("ss", "0.0.0.0:22 ", "0.0.0.0:2222 ")
    assert ev.check("linux.services.listening-allow-list").status == "fail"   # audit session came in on 22
    ev.json(SESSION, {"port": 2222})
    assert ev.check("linux.services.listening-allow-list").status == "pass"
    assert ev.check("linux.services.listening-allow-list", allow_audit_ssh_port=False).status == "fail"


@pytest.mark.parametrize("distro", DISTROS)
def test_insecure_services_pass(distro: str) -> None:
    assert recorded_host(distro).check("linux.services.insecure").status == "pass"


def test_insecure_services_without_listeners_is_manual() -> None:
    """Vendor software outside the package manager shows only as a listener: no pass without them."""
    from checks.linux.facts.network import LISTENERS

    ev = recorded_host("debian12")
    ev.out(LISTENERS, "sh: 1: ss: not found\n", 127)
    verdict = ev.check("linux.services.insecure")
    assert verdict.status == "manual" and "listening sockets" in verdict.reason


def test_insecure_services_fail() -> None:
    ev = recorded_host("ubuntu2204").replace("ss", "tcp   LISTEN 0      128          0.0.0.0:22 ",
                                             "tcp   LISTEN 0      128          0.0.0.0:23 ")
    verdict = ev.check("linux.services.insecure")
    assert verdict.status == "fail" and "telnet: listening" in verdict.reason
    ev = recorded_host("rhel9").replace("rpm", "aide 0.16-100.el9 x86_64", "vsftpd 3.0.5-5.el9 x86_64")
    assert "vsftpd" in ev.check("linux.services.insecure").reason
