"""What the web interface shows of the device itself: its clock (the HTTP ``Date`` header) and whether its
certificate was issued by the site's own CA. From ``GET /`` and one verifying TLS handshake only."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from auditor.clock import skew_seconds
from auditor.registry import check
from auditor.verdicts import Verdict, error, failed, manual, passed
from checks.web.facts import PageClock, SiteTrust, TlsOffer

APPLIES = ["embedded", "application"]
#: The HTTP Date header counts whole seconds: a clock can look this much off while being right.
_DATE_RESOLUTION_S = 1.0


@check("web.clock.skew", title="Device clock (HTTP Date header) agrees with the auditor's clock",
       requirements=["SR 2.11", "CR 2.11"], applies_to=APPLIES, severity="low", params={"max_skew_seconds": 5},
       remediation="Synchronise the device's clock with the site's time source (NTP/PTP in the device's time "
                   "settings) and set its time zone; check that the auditor's own clock is NTP-synchronised before "
                   "trusting this check.")
def clock_skew(web_clock: PageClock, params: dict[str, Any]) -> Verdict:
    """The device stamps its audit records and alarms with its own clock; a clock that is off breaks the order of
    events across components in an investigation (SR 2.11 timestamps). An HTTP server's Date header is its
    clock when it answered (RFC 9110), so it is compared with the auditor's clock (assumed NTP-synchronised)
    between sending GET / and receiving the answer, allowing the Date header's one-second resolution."""
    try:
        limit = float(params["max_skew_seconds"])
    except (TypeError, ValueError):
        return error("max_skew_seconds must be a number")
    expected = f"|device clock - auditor clock| <= {limit:g} s"
    if web_clock.date_header is None:
        return manual("the HTTPS answer has no Date header; compare the device's clock with the site's time source "
                      "by hand", expected)
    if web_clock.device is None:
        return manual(f"the Date header {web_clock.date_header!r} is not an HTTP date; compare the device's clock by "
                      "hand", expected, {"date_header": web_clock.date_header})
    if web_clock.requested is None or web_clock.answered is None:
        return error("the evidence does not say when GET / was sent and answered (requested_at/answered_at)")
    start, end = web_clock.requested - _dt.timedelta(seconds=_DATE_RESOLUTION_S), web_clock.answered
    device = web_clock.device
    skew = skew_seconds(device, start, end)
    observed = {"date_header": web_clock.date_header, "device_time": device.isoformat(),
                "auditor_sent": web_clock.requested.isoformat(), "auditor_answered": web_clock.answered.isoformat(),
                "round_trip_seconds": round((end - web_clock.requested).total_seconds(), 3),
                "skew_seconds": round(skew, 1)}
    if abs(skew) > limit:
        return failed(observed, expected, f"the device clock is {skew:+.0f} s off")
    return passed(observed, expected, f"the Date header falls within {abs(skew):.0f} s of the request's round trip")


@check("web.tls.site-trust", title="Web interface certificate chains to the site's own CA",
       requirements=["SR 1.2", "CR 1.2", "EDR 3.13"], applies_to=APPLIES, severity="medium",
       remediation="Enrol the device in the site PKI: install a certificate issued by the asset owner's CA (and "
                   "that CA as the device's trust anchor) in place of the vendor's factory or self-signed "
                   "certificate; name the CA bundle as ca_file on the https endpoint of the inventory.")
def site_trust(web_site_trust: SiteTrust, web_tls: TlsOffer) -> Verdict:
    """A device whose web certificate chains to the asset owner's CA has had the owner's root of trust provisioned
    and identifies itself with an owner-issued identity that every browser of the site can authenticate (EDR 3.13
    provisioning asset owner roots of trust, SR 1.2 device identification and authentication). A vendor default
    or self-signed certificate cannot be told from an impostor's. Needs the site's CA bundle (``ca_file`` on the
    inventory's https endpoint): OpenSSL verifies the chain the device sends in one handshake."""
    trust = web_site_trust
    expected = "the certificate chain verifies against the site's CA bundle, and the certificate is not self-signed"
    if trust.ca_file is None:
        return manual("the inventory names no site CA for this web interface: is the device's web certificate "
                      "issued by the asset owner's PKI? Name the CA bundle as ca_file on the https endpoint to check "
                      "it automatically", expected)
    cert = web_tls.certificate
    observed: dict[str, Any] = {"ca_file": trust.ca_file, "site_cas": list(trust.ca_subjects) or None,
                                "verified": trust.verified, "reason": trust.reason,
                                "certificate": {"subject": cert.subject, "issuer": cert.issuer} if cert else None}
    if trust.verified is None:
        if trust.error and trust.error.startswith("the CA file cannot be loaded"):
            return error(f"{trust.error} (ca_file of the https endpoint)", observed)
        return manual(f"the verifying handshake did not complete ({trust.error}); check the certificate's issuer by "
                      "hand", expected, observed)
    if not trust.verified:
        return failed(observed, expected, f"the certificate does not chain to the site's CA ({trust.reason})")
    if cert is not None and cert.self_signed:
        return failed(observed, expected, "the certificate is self-signed (trusted only because the CA file holds "
                                          "the device's own certificate, not issued by the site's CA)")
    if cert is None:
        return manual("the chain verified, but no certificate was recorded to rule out a self-signed one; check "
                      "its issuer by hand", expected, observed)
    return passed(observed, expected)
