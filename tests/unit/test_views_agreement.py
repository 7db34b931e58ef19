"""The CLI and SNMP views of one device compared (``views.cli-snmp.agreement``): the recorded HiOS and IOS switches'
configurations beside the recorded SNMP agents, edited so that they agree, then made to differ one fact at a
time; each difference is a failure that shows both values, never one view silently winning."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from checks.snmp import facts as f
from tests.support.checks import check_verdict

sys.path[:0] = [str(Path(__file__).parent / "netcli"), str(Path(__file__).parent / "snmp")]
from cli_evidence import Recording as CliRecording  # noqa: E402
from snmp_evidence import Recording as SnmpRecording, integer, octets  # noqa: E402

CHECK = "views.cli-snmp.agreement"


def _hios_port_rows(states: dict[str, int]) -> list[dict[str, Any]]:
    """IF-MIB rows naming HiOS ports the way the configuration does (ifName ``1/N``) with their admin status."""
    rows: list[dict[str, Any]] = []
    for index, (name, admin) in enumerate(states.items(), start=1):
        rows += [{"oid": f"{f.IF_DESCR}.{index}", **octets(f"Module: 1 Port: {index}")},
                 {"oid": f"{f.IF_TYPE}.{index}", **integer(6)},
                 {"oid": f"{f.IF_ADMIN_STATUS}.{index}", **integer(admin)},
                 {"oid": f"{f.IF_OPER_STATUS}.{index}", **integer(2)},
                 {"oid": f"{f.IF_NAME}.{index}", **octets(name)}]
    return rows


def _views(cli: str = "hios-hardened", snmp: str = "sim-hardened") -> tuple[CliRecording, SnmpRecording]:
    """The two recordings, the agent's identity and ports made to match the configuration's."""
    config, agent = CliRecording(cli), SnmpRecording(snmp)
    facts = config.fact("cli_config")
    for oid, value in ((f.SYS_NAME, facts.hostname), (f.SYS_CONTACT, facts.contact), (f.SYS_LOCATION, facts.location)):
        agent.set_varbind(f.SCALARS, oid, octets(value))
    if cli.startswith("hios"):
        agent.set_rows(f.WALK_INTERFACES, _hios_port_rows({p.name: 2 if p.shutdown else 1 for p in facts.ports}))
    return config, agent


def _verdict(config: CliRecording, agent: SnmpRecording) -> Any:
    return check_verdict(config.items + agent.items, CHECK)


def test_views_that_agree_pass_and_list_what_was_compared() -> None:
    verdict = _verdict(*_views())
    assert verdict.status == "pass", verdict
    assert {"name", "contact", "location", "snmp v3", "trap receivers", "port 1/1", "port 1/8"} <= set(
        verdict.observed["agree"])


@pytest.mark.parametrize("oid, what", [(f.SYS_NAME, "name"), (f.SYS_CONTACT, "contact"), (f.SYS_LOCATION, "location")])
def test_another_identity_is_a_failure_with_both_values(oid: str, what: str) -> None:
    config, agent = _views()
    agent.set_varbind(f.SCALARS, oid, octets("sw-99"))
    verdict = _verdict(config, agent)
    assert verdict.status == "fail" and what in verdict.reason
    assert verdict.observed["differ"][what]["snmp"] == "sw-99" and verdict.observed["differ"][what]["cli"]


def test_a_domain_on_sysname_is_the_same_name() -> None:
    config, agent = _views()
    agent.set_varbind(f.SCALARS, f.SYS_NAME, octets("rsp-cell-04.plant.invalid"))
    assert _verdict(config, agent).status == "pass"


def test_a_port_up_in_if_mib_but_shut_down_in_the_configuration() -> None:
    config, agent = _views()
    states = {p.name: 2 if p.shutdown else 1 for p in config.fact("cli_config").ports}
    agent.set_rows(f.WALK_INTERFACES, _hios_port_rows({**states, "1/6": 1}))
    verdict = _verdict(config, agent)
    assert verdict.status == "fail" and verdict.observed["differ"] == {"port 1/6": {"cli": "shutdown", "snmp": "up"}}


def test_an_agent_answering_a_community_the_configuration_does_not_have() -> None:
    config, agent = _views("ios-hardened", "sim-weak")  # no community in the configuration; the agent answered v2c
    verdict = _verdict(config, agent)
    assert verdict.status == "fail"
    assert verdict.observed["differ"]["snmp v1/v2c"] == {"cli": "off (no community)",
                                                         "snmp": "on (the agent answered the audit over v2c)"}
    weak_config, weak_agent = _views("ios-weak", "sim-weak")  # the weak switch has its communities: they agree
    assert "snmp v1/v2c" in _verdict(weak_config, weak_agent).observed["agree"]


def test_an_agent_answering_v3_without_a_v3_user_in_the_configuration() -> None:
    config, agent = _views("hios-weak", "sim-hardened")  # the weak RSP20's only v3 user is auth-only, not a group
    config.set_text("running-config", config.text("running-config").replace("users snmpv3 ", "! users snmpv3 "))
    verdict = _verdict(config, agent)
    assert verdict.status == "fail" and verdict.observed["differ"]["snmp v3"]["cli"].startswith("off")


def test_other_trap_receivers() -> None:
    def retarget(data: dict[str, Any]) -> None:
        for row in data["rows"]:
            if row["oid"].startswith(f.SNMP_TARGET_ADDR_TADDRESS):
                row["hex"] = "7f000a6300a2"  # TAddress 127.0.10.99, port 162

    config, agent = _views()
    verdict = _verdict(config, agent.edit(f.WALK_TARGETS, retarget))
    assert verdict.status == "fail"
    assert verdict.observed["differ"]["trap receivers"] == {"cli": ["127.0.10.250"], "snmp": ["127.0.10.99"]}


def test_nothing_in_common_is_not_applicable_and_a_failed_read_is_an_error() -> None:
    config, agent = _views()
    agent.edit(f.SESSION, lambda data: data.update(answered=False))
    for oid in (f.SYS_NAME, f.SYS_CONTACT, f.SYS_LOCATION):
        agent.set_varbind(f.SCALARS, oid, None)
    agent.set_rows(f.WALK_INTERFACES, []).set_rows(f.WALK_TARGETS, [])
    assert _verdict(config, agent).status == "not_applicable"
    config, agent = _views()
    assert _verdict(config, agent.fail(f.WALK_INTERFACES)).status == "error"
