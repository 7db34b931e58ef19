"""What the web interface's pages give away or let run: its error page, the mobile code its front page delivers
and the script policy it sets. From ``GET /`` and one ``GET`` of a random absent path only: pages behind the
login are never read, so a pass speaks for the pages a visitor sees before logging in."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from auditor.registry import check
from auditor.verdicts import Verdict, failed, manual, not_applicable, passed
from checks.web.facts import Page

APPLIES = ["embedded", "application"]

#: Internals an error page must not show: name -> pattern (case-sensitive where the runtime's text is).
_DISCLOSURES: dict[str, re.Pattern[str]] = {
    "Python traceback": re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+"),
    "Java stack trace": re.compile(r"\bat [\w$]+(?:\.[\w$<>]+)+\([\w$]+\.java:\d+\)|\b(?:java|javax|jakarta)\.[\w.]+"
                                   r"(?:Exception|Error)\b|org\.apache\.catalina\.|Exception in thread \""),
    ".NET stack trace": re.compile(r"Server Error in '[^']*' Application|\bSystem\.[\w.]+Exception\b|"
                                   r"\bat [\w.`<>]+\([^)]*\) in [^\n]+:line \d+|\.cs:line \d+"),
    "PHP error": re.compile(r"(?:Fatal error|Parse error|Warning|Notice|Deprecated)(?:</b>)?:.{0,300}? on line "
                            r"(?:<b>)?\d+", re.IGNORECASE),
    "Node.js stack trace": re.compile(r"\bat (?:[\w.<>]+ )?\(?(?:/|[A-Za-z]:\\)[^\s)]+\.m?js:\d+:\d+\)?"),
    "SQL error": re.compile(r"SQL syntax.{0,80}MySQL|\bORA-\d{5}\b|SQLSTATE\[|\bPG::\w+Error|"
                            r"Unclosed quotation mark|Microsoft OLE DB Provider for|sqlite3?\.\w*Error|"
                            r"PostgreSQL.{0,40}ERROR", re.IGNORECASE),
    "server or framework version": re.compile(
        r"\b(?:Apache(?: Tomcat)?|nginx|lighttpd|Microsoft-IIS|Jetty|GoAhead(?:-Webs)?|Boa|thttpd|mini_httpd|"
        r"Werkzeug|Kestrel|Embedthis-(?:Appweb|http)|Allegro-Software-RomPager|RomPager|Mongoose|CivetWeb|uhttpd|"
        r"Hiawatha|Cherokee|WEBrick|PHP|ASP\.NET|Express|Django|Flask|Spring Boot|Node\.js|OpenSSL)"
        r"(?:/| version | v| )\d+(?:\.\d+)+", re.IGNORECASE),
    # not inside a link or attribute (preceded by a quote, = or a URL's host): those are URLs, not files
    "file-system path": re.compile(r"(?<![\w/.:\"'=(-])/(?:var|usr|home|opt|srv|etc|root|tmp|mnt|proc)/"
                                   r"[\w.-]+(?:/[\w.-]+)*|\b[A-Za-z]:\\(?:[\w .-]+\\)+[\w .-]*"),
}
#: Legacy mobile code technologies no current browser runs safely: name -> pattern.
_LEGACY_MOBILE_CODE: dict[str, re.Pattern[str]] = {
    "Java applet": re.compile(r"<applet\b|\.jar\b|\.jnlp\b|\.class[\"'\s>]|application/x-java-applet",
                              re.IGNORECASE),
    "Flash": re.compile(r"\.swf\b|application/x-shockwave-flash", re.IGNORECASE),
    "ActiveX": re.compile(r"<object\b[^>]*\bclassid\s*=|new\s+ActiveXObject\s*\(", re.IGNORECASE),
    "Silverlight": re.compile(r"\.xap\b|application/x-silverlight", re.IGNORECASE),
}
_META_CSP = re.compile(r"<meta\b[^>]*http-equiv\s*=\s*[\"']?content-security-policy[\"']?[^>]*>", re.IGNORECASE)
_META_CONTENT = re.compile(r"\bcontent\s*=\s*(?:\"([^\"]*)\"|'([^']*)')", re.IGNORECASE)
_SCRIPT_SRC = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
_ATTRIBUTE = r"\b{}\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+))"
_SRI = re.compile(r"^(?:sha256|sha384|sha512)-[A-Za-z0-9+/]+={0,2}(?:\s+(?:sha256|sha384|sha512)-[A-Za-z0-9+/]+={0,2})*$")
_REDIRECTS = (301, 302, 303, 307, 308)


def _attribute(tag: str, name: str) -> str | None:
    match = re.search(_ATTRIBUTE.format(name), tag, re.IGNORECASE)
    return next((g for g in match.groups() if g is not None), "") if match else None


def _served(*pages: Page) -> list[Page]:
    """The pages that answered 200: what a visitor's browser renders and runs."""
    return [p for p in pages if p.open and p.status == 200]


def _not_served(*pages: Page) -> str:
    return "; ".join(f"{p.scheme} GET {p.path}: " + (f"{p.status} {p.header('Location') or ''}".strip()
                                                     if p.status is not None else str(p.error)) for p in pages)


# ---------------------------------------------------------------------------------------- error handling


@check("web.error.disclosure", title="Web interface error page discloses no internals",
       requirements=["SR 3.7", "CR 3.7"], applies_to=APPLIES, severity="medium",
       params={"headers": ["Server", "X-Powered-By", "X-AspNet-Version", "X-AspNetMvc-Version"]},
       remediation="Configure the web server to answer unknown paths and errors with a plain, generic error page: "
                   "turn debug or development mode off, and remove stack traces, file paths, SQL messages and "
                   "server versions from error pages and their headers (firmware or web server configuration).")
def error_disclosure(web_error_page: Page, params: dict[str, Any]) -> Verdict:
    """An error page with a stack trace, a file path, an SQL message or the server's version tells an attacker
    the software, its layout and where it breaks, without a login (SR 3.7 error handling: handle errors without
    giving out information an adversary could exploit). Judged on the answer to one GET of a random path that no
    device has: a 4xx is the normal answer; a 200 (a catch-all page) is judged the same way."""
    page = web_error_page
    expected = "a 4xx answer to an absent path, with no stack trace, file path, SQL error or version in it"
    if not page.open or page.status is None:
        return manual(f"the absent-path GET got no answer ({page.error}); request an unknown path by hand and read "
                      "the error page", expected)
    shown_headers = {name: page.header(name) for name in params["headers"] if page.header(name)}
    text = page.body + "\n" + "\n".join(f"{k}: {v}" for k, v in shown_headers.items())
    found = {name: match.group(0)[:160] for name, pattern in _DISCLOSURES.items() if (match := pattern.search(text))}
    observed = {"path": page.path, "status": page.status, "headers": shown_headers or None,
                "body_start": page.body[:300], "disclosed": found or None}
    if found:
        return failed(observed, expected, "the error page shows " + "; ".join(f"{k} ({v!r})" for k, v in found.items()))
    if 400 <= page.status < 500:
        return passed(observed, expected)
    if page.status == 200:
        return passed(observed, expected, "the absent path answered 200 (a catch-all page), which shows no internals")
    if page.status in _REDIRECTS:
        return manual(f"the absent path was redirected ({page.header('Location')}), so no error page was seen; "
                      "request an unknown path in a browser and read the error page", expected, observed)
    return manual(f"the absent path answered {page.status} (a server error for a missing page suggests an "
                  "unhandled error) without showing internals; check the device's error handling", expected, observed)


# ---------------------------------------------------------------------------------------- mobile code


def _csps(page: Page) -> tuple[list[str], str | None]:
    """The page's enforced Content-Security-Policies (headers, else <meta>) and where they came from."""
    headers = page.headers.get("content-security-policy", [])
    if headers:
        return headers, "header"
    meta = _META_CSP.search(page.body)
    if meta and (content := _META_CONTENT.search(meta.group(0))):
        return [content.group(1) if content.group(1) is not None else content.group(2)], "meta"
    return [], None


def _script_sources(policy: str) -> tuple[str | None, list[str]]:
    """The directive that governs scripts (script-src, else default-src) and its source list (lower-cased)."""
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words and words[0].lower() not in directives:  # a repeated directive is ignored by browsers
            directives[words[0].lower()] = [w.lower() for w in words[1:]]
    for name in ("script-src", "default-src"):
        if name in directives:
            return name, directives[name]
    return None, []


def _policy_problems(sources: list[str], permissive: list[str]) -> list[str]:
    problems = [f"allows {s}" for s in sources if s in permissive]
    neutralized = any(s.startswith(("'nonce-", "'sha256-", "'sha384-", "'sha512-")) for s in sources)
    if "'unsafe-inline'" in sources and not neutralized:
        problems.append("allows 'unsafe-inline' without a nonce or hash")
    if "'unsafe-eval'" in sources:
        problems.append("allows 'unsafe-eval'")
    return problems


@check("web.mobile-code.policy", title="Web interface serves no legacy mobile code and restricts scripts by CSP",
       requirements=["SR 2.4", "EDR 2.4", "SAR 2.4"], applies_to=APPLIES, severity="medium",
       params={"permissive_sources": ["*", "http:", "https:", "data:", "blob:", "filesystem:"]},
       remediation="Update firmware whose interface still needs Java applets, Flash, ActiveX or Silverlight, and "
                   "send a Content-Security-Policy whose script-src (or default-src) allows only 'self' and named "
                   "origins, with no 'unsafe-inline' (use nonces or hashes) and no 'unsafe-eval'.")
def mobile_code_policy(web_https_page: Page, web_http_page: Page, params: dict[str, Any]) -> Verdict:
    """The scripts a web interface sends run in the operator's browser with the operator's session: the interface
    is a mobile code technology, and a Content-Security-Policy is how it enforces which code may run and where
    it may come from (SR 2.4 mobile code: control the execution and transfer of mobile code). Applets, Flash,
    ActiveX and Silverlight run outside the browser's sandbox and get no security updates. Judged on the front
    page (HTTPS, and HTTP when it serves a page); the scripts behind the login are not read."""
    pages = _served(web_https_page, web_http_page)
    permissive = [s.lower() for s in params["permissive_sources"]]
    expected = ("no applet, Flash, ActiveX or Silverlight; a Content-Security-Policy whose script-src/default-src "
                f"allows none of {', '.join(permissive)}, no 'unsafe-inline' without nonce/hash, no 'unsafe-eval'")
    if not pages:
        return manual("no front page was served (" + _not_served(web_https_page, web_http_page) + "); open the "
                      "interface in a browser and look for applets, Flash or ActiveX and its Content-Security-Policy",
                      expected)
    problems: list[str] = []
    observed: dict[str, Any] = {}
    for page in pages:
        legacy = {name: m.group(0) for name, pattern in _LEGACY_MOBILE_CODE.items() if (m := pattern.search(page.body))}
        policies, origin = _csps(page)
        observed[page.scheme] = {"legacy_mobile_code": legacy or None, "content_security_policy": policies or None,
                                 "csp_from": origin}
        problems += [f"{page.scheme}: {name} ({found!r})" for name, found in legacy.items()]
        if not policies:
            problems.append(f"{page.scheme}: no Content-Security-Policy")
            continue
        # a browser enforces every policy it is given: one strict policy restricts scripts whatever the others say
        verdicts = []
        for policy in policies:
            directive, sources = _script_sources(policy)
            verdicts.append([f"{page.scheme}: the Content-Security-Policy has no script-src or default-src"]
                            if directive is None else
                            [f"{page.scheme}: {directive} {p}" for p in _policy_problems(sources, permissive)])
        if all(verdicts):
            problems += verdicts[0]
    if problems:
        return failed(observed, expected, "; ".join(problems))
    return passed(observed, expected)


def _scripts(page: Page) -> list[tuple[str, str | None]]:
    """(src, integrity) of every external script the page loads."""
    out = []
    for match in _SCRIPT_SRC.finditer(page.body):
        src = _attribute(match.group(1), "src")
        if src:
            out.append((src.strip(), _attribute(match.group(1), "integrity")))
    return out


def _script_problem(page: Page, src: str, integrity: str | None) -> str | None:
    """Why this script is not authenticated before it runs, or None."""
    try:
        parts = urlsplit(src)
    except ValueError:  # "http://[::1/x.js": no origin can be told, so nothing vouches for what it loads
        return f"{src} (not a URL whose origin can be told)"
    scheme = (parts.scheme or page.scheme).lower()
    if scheme not in ("http", "https"):
        return f"{src} (scheme {scheme})" if parts.scheme else None
    if page.scheme != "https" or scheme == "http":
        return f"{src} over plain HTTP"
    if not parts.netloc:
        return None  # the page's own origin, over the same TLS
    own = {f"{page.host}:{page.port}".lower(), f"[{page.host}]:{page.port}".lower()} if page.host else set()
    if page.port == 443 and page.host:
        own |= {str(page.host).lower(), f"[{page.host}]".lower()}
    if parts.netloc.lower() in own:
        return None
    if integrity is None:
        return f"{src} from another origin without integrity="
    if not _SRI.match(integrity.strip()):
        return f"{src} with an integrity value that is not a sha256/384/512 digest"
    return None


@check("web.mobile-code.authenticity", title="Web interface scripts come from its own origin over TLS or carry SRI",
       requirements=["SR 2.4 RE1", "EDR 2.4 RE1", "SAR 2.4 RE1"], applies_to=APPLIES, severity="medium",
       remediation="Serve the interface's scripts from the device itself over HTTPS, or give every script loaded from "
                   "another origin a Subresource Integrity hash (integrity=\"sha384-...\" crossorigin); never load "
                   "scripts over plain HTTP.")
def mobile_code_authenticity(web_https_page: Page, web_http_page: Page) -> Verdict:
    """A browser runs a script only as authentic as its delivery: from the device's own origin over HTTPS the TLS
    connection authenticates it; from another origin only a Subresource Integrity hash ties it to what the
    vendor shipped; over plain HTTP anyone on the path can replace it (SR 2.4 RE1 mobile code integrity and
    authenticity check before execution). Judged on the front page's <script src> tags."""
    pages = _served(web_https_page, web_http_page)
    expected = ("every script the front page loads comes from its own origin over HTTPS, or from another origin "
                "with a Subresource Integrity hash")
    if not pages:
        return manual("no front page was served (" + _not_served(web_https_page, web_http_page) + "); check the "
                      "interface's scripts in a browser", expected)
    scripts = {page.scheme: _scripts(page) for page in pages}
    observed = {scheme: [f"{src}" + (" (integrity)" if integrity else "") for src, integrity in found][:20]
                for scheme, found in scripts.items()}
    if not any(scripts.values()):
        return not_applicable("the front page loads no script (the pages behind the login are not read)", observed)
    problems = [f"{page.scheme} page: {problem}" for page in pages for src, integrity in scripts[page.scheme]
                if (problem := _script_problem(page, src, integrity))]
    if problems:
        return failed(observed, expected, "; ".join(problems[:10]))
    return passed(observed, expected)
