"""connectors/opcua pieces without a network: the service allow-list, the endpoint choice (a password is
never sent unprotected), node ids of the reads, value conversion, and the kept client certificate."""

from __future__ import annotations

import datetime as _dt
import os
import stat

import pytest
from asyncua import ua

from checks.opcua.facts import SERVER_NODES, SERVER_READ, VARIABLES
from connectors.opcua import describe, identity
from connectors.opcua.connector import ALLOWED_SERVICES, ForbiddenService, _choose, _Connection, _Recorder

P = "http://opcfoundation.org/UA/SecurityPolicy#"


def ep(policy: str, mode: ua.MessageSecurityMode, *tokens: tuple[ua.UserTokenType, str]) -> ua.EndpointDescription:
    e = ua.EndpointDescription()
    e.SecurityPolicyUri = P + policy
    e.SecurityMode = mode
    e.ServerCertificate = b"\x30\x00"
    e.UserIdentityTokens = [ua.UserTokenPolicy(PolicyId=str(t), TokenType=t, SecurityPolicyUri=(P + p) if p else "")
                            for t, p in tokens]
    return e


NONE, SIGN, ENC = ua.MessageSecurityMode.None_, ua.MessageSecurityMode.Sign, ua.MessageSecurityMode.SignAndEncrypt
USER, ANON, CERT = ua.UserTokenType.UserName, ua.UserTokenType.Anonymous, ua.UserTokenType.Certificate


def test_write_and_call_cannot_leave_the_connector() -> None:
    connection = _Connection(1, "test")
    recorder = _Recorder(connection)
    for request in (ua.WriteRequest(), ua.CallRequest(), ua.AddNodesRequest(), ua.HistoryUpdateRequest(),
                    ua.CreateSubscriptionRequest(), ua.RegisterServerRequest(), ua.DeleteNodesRequest()):
        with pytest.raises(ForbiddenService):
            recorder.observe_request(request)
    assert {s["service"] for s in connection.services} >= {"Write", "Call"}
    assert all(s["result"].startswith("refused") for s in connection.services)
    with recorder.observe_request(ua.ReadRequest()):
        pass
    assert connection.services[-1] == {"service": "Read", "ms": connection.services[-1]["ms"], "result": "Good"}
    assert not {"WriteRequest", "CallRequest"} & ALLOWED_SERVICES


def test_password_is_never_sent_unprotected() -> None:
    cleartext = [ep("None", NONE, (USER, "")), ep("Basic256Sha256", SIGN, (USER, "None"))]
    assert _choose(cleartext, USER, secret=True) is None
    deprecated = [ep("Basic128Rsa15", ENC, (USER, "")), ep("Basic256", SIGN, (USER, "Basic256")),
                  ep("None", NONE, (USER, "Basic128Rsa15"))]
    assert _choose(deprecated, USER, secret=True) is None
    token_encrypted = ep("None", NONE, (USER, "Basic256Sha256"))
    assert _choose(cleartext + [token_encrypted], USER, secret=True) is token_encrypted
    best = ep("Aes256_Sha256_RsaPss", ENC, (USER, ""))
    chosen = _choose([token_encrypted, ep("Basic256Sha256", ENC, (USER, "")), best], USER, secret=True)
    assert chosen is best
    # a user name without a password (nothing secret) may use the channel the server offers
    assert _choose(cleartext, USER, secret=False) is cleartext[0] or _choose(cleartext, USER, secret=False) is cleartext[1]


def test_anonymous_prefers_a_none_channel_and_never_a_deprecated_one() -> None:
    none = ep("None", NONE, (ANON, "None"))
    secure = ep("Basic256Sha256", ENC, (ANON, "None"))
    assert _choose([secure, none], ANON, secret=False) is none
    assert _choose([secure], ANON, secret=False) is secure
    assert _choose([ep("Basic128Rsa15", ENC, (ANON, "None"))], ANON, secret=False) is None


def test_secure_endpoint_without_a_server_certificate_is_not_used() -> None:
    secure = ep("Basic256Sha256", ENC, (USER, ""))
    secure.ServerCertificate = b""
    assert _choose([secure], USER, secret=True) is None


def test_certificate_token_needs_a_current_policy() -> None:
    assert _choose([ep("None", NONE, (CERT, ""))], CERT, secret=False) is None
    good = ep("None", NONE, (CERT, "Basic256Sha256"))
    assert _choose([good], CERT, secret=False) is good


def test_server_read_node_ids_match_the_standard() -> None:
    names = {"start_time": "Server_ServerStatus_StartTime", "current_time": "Server_ServerStatus_CurrentTime",
             "state": "Server_ServerStatus_State", "product_uri": "Server_ServerStatus_BuildInfo_ProductUri",
             "manufacturer_name": "Server_ServerStatus_BuildInfo_ManufacturerName",
             "product_name": "Server_ServerStatus_BuildInfo_ProductName",
             "software_version": "Server_ServerStatus_BuildInfo_SoftwareVersion",
             "build_number": "Server_ServerStatus_BuildInfo_BuildNumber",
             "build_date": "Server_ServerStatus_BuildInfo_BuildDate", "auditing": "Server_Auditing",
             "diagnostics_enabled": "Server_ServerDiagnostics_EnabledFlag",
             "server_profiles": "Server_ServerCapabilities_ServerProfileArray",
             "locale_ids": "Server_ServerCapabilities_LocaleIdArray",
             "min_supported_sample_rate": "Server_ServerCapabilities_MinSupportedSampleRate",
             "max_browse_continuation_points": "Server_ServerCapabilities_MaxBrowseContinuationPoints",
             "max_array_length": "Server_ServerCapabilities_MaxArrayLength",
             "max_string_length": "Server_ServerCapabilities_MaxStringLength"}
    assert set(names) == set(SERVER_NODES)
    for name, node in SERVER_NODES.items():
        assert node == f"i={getattr(ua.ObjectIds, names[name])}", name
    assert SERVER_READ.target.count(",") == len(SERVER_NODES) - 1
    assert VARIABLES.option("depth") == 3 and VARIABLES.option("max_nodes") == 200


def test_values_become_json() -> None:
    when = _dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=_dt.timezone.utc)
    build = ua.BuildInfo(ProductUri="urn:p", ManufacturerName="ACME", ProductName="P", SoftwareVersion="1",
                         BuildNumber="7", BuildDate=when)
    data = describe.jsonable(build)
    assert data["BuildDate"] == when.isoformat() and data["ManufacturerName"] == "ACME"
    assert describe.jsonable(ua.ServerState.Running) == "Running"
    assert describe.jsonable(ua.LocalizedText("x")) == "x"
    assert describe.jsonable(b"\x00\x01") == "AAE="
    dv = ua.DataValue(ua.Variant(True, ua.VariantType.Boolean))
    assert describe.data_value(dv) == {"status": "Good", "value": True, "type": "Boolean"}
    bad = ua.DataValue(StatusCode=ua.StatusCode(ua.StatusCodes.BadUserAccessDenied))
    assert describe.data_value(bad)["status"] == "BadUserAccessDenied"


def test_client_certificate_is_generated_once_and_kept(tmp_path) -> None:
    first = identity.default_identity(tmp_path)
    assert first.source == "generated" and first.key.key_size == 2048
    assert stat.S_IMODE(os.stat(tmp_path / identity.KEY_NAME).st_mode) == 0o600
    second = identity.default_identity(tmp_path)
    assert second.source == "kept" and second.der == first.der
    assert first.application_uri and first.application_uri.startswith("urn:")
    assert "key" not in str(first.describe()).lower().replace("sha256", "")


def test_default_location_follows_xdg(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert identity.data_dir() == tmp_path / "iacs-auditor"


def test_mismatched_or_unreadable_client_identity(tmp_path) -> None:
    a, b = identity.default_identity(tmp_path / "a"), identity.default_identity(tmp_path / "b")
    with pytest.raises(identity.ClientIdentityError, match="does not belong"):
        identity.load_identity(a.cert_path, b.key_path)
    with pytest.raises(identity.ClientIdentityError, match="cannot be read"):
        identity.load_identity(tmp_path / "missing.der", a.key_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / identity.CERT_NAME).write_bytes(b"garbage")
    (broken / identity.KEY_NAME).write_bytes(b"garbage")
    assert identity.default_identity(broken).source == "generated"  # unreadable: replaced


def _opcua_plan(endpoint: dict) -> list:
    from auditor.assessment.profiles import load_profile
    from auditor.plant.inventory import Asset
    from auditor.registry import REGISTRY
    from connectors.base import ScanOptions
    from connectors.opcua.connector import OpcuaConnector

    asset = Asset.model_validate({"id": "ua", "type": "application", "address": "127.0.43.41",
                                  "endpoints": [{"protocol": "opcua", **endpoint}]})
    requests = REGISTRY.load().requests_for(load_profile("application-sl2").checks_for(asset))["opcua"]
    return OpcuaConnector(asset, asset.endpoints[0], ScanOptions()).plan(requests).steps


def test_the_role_set_is_the_standard_node_and_planned_as_browse_and_read_only() -> None:
    from checks.opcua.facts import ROLE_SET
    from connectors.opcua.connector import _ROLE_PROPERTIES

    assert ROLE_SET.target == f"i={ua.ObjectIds.Server_ServerCapabilities_RoleSet}"
    # the properties read are those of the standard's RoleType (Part 18)
    assert all(hasattr(ua.ObjectIds, f"RoleType_{name}") for name in _ROLE_PROPERTIES)
    steps = _opcua_plan({"username": "auditor", "password_env": "UA_PW"})
    roles = [s for s in steps if s.request == ROLE_SET.key]
    assert [(s.operation, s.target) for s in roles] == [("Browse", ROLE_SET.target)]
    assert "protects the credential" in roles[0].when and "Read of Identities" in roles[0].detail
    # with an anonymous session allowed as well, the plan says the reads go there when the password cannot
    both = _opcua_plan({"username": "auditor", "password_env": "UA_PW", "anonymous_session": True})
    conditions = [s.when for s in both if s.request == ROLE_SET.key]
    assert any("and no endpoint protects the credential" in (c or "") for c in conditions) and len(conditions) == 2
    assert {s.operation for s in both} <= {"connect", "GetEndpoints", "FindServers", "CreateSession",
                                           "ActivateSession", "Read", "Browse", "CloseSession", "record"}


def test_the_untrusted_probe_identity_is_shared_by_one_scan_and_renewed_later(monkeypatch) -> None:
    """One RSA key for every server of a scan (as untrusted by each), a new one once it is older than the reuse window."""
    import datetime as dt

    from connectors.opcua import identity

    monkeypatch.setattr(identity, "_UNTRUSTED", [])
    first = identity.untrusted_identity()
    assert identity.untrusted_identity() is first and first.source == "untrusted-probe"
    assert first.cert_path.name == "-"  # kept in memory only, never written
    aged = dt.datetime.now(dt.timezone.utc) - identity.UNTRUSTED_REUSE - dt.timedelta(seconds=1)
    identity._UNTRUSTED[:] = [(aged, first)]
    renewed = identity.untrusted_identity()
    assert renewed is not first and renewed.der != first.der
