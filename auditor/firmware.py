"""A network device's firmware against the site's minimum version: one rule for every pack that reads a version.

The CLI pack reads the release from ``show version`` / ``show system info``, the SNMP pack from ENTITY-MIB
(entPhysicalSoftwareRev / FirmwareRev) or sysDescr; both judge it here against the profile parameter
``minimum_firmware``, a mapping of globs to minimum versions. A glob is matched against the device's model,
then its platform (``{"RSP20-*": "09.4.00", "IE-4000-*": "15.2(7)E4", "hirschmann_hios": "09.0.00"}``); the
first entry that matches is the minimum. No entry: ``manual`` (a person compares the release with the vendor's
advisories). Versions are compared number by number: ``HiOS-2S-09.4.04`` is (9, 4, 4) (the ``HiOS-2S-``
software level is no part of the release), ``15.2(7)E4`` is (15, 2, 7, 4).
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from auditor.verdicts import Verdict, failed, manual, passed


#: What every firmware-minimum check shows: its title, why the demo's devices are ``manual``, and the fix.
MINIMUM_TITLE = "The device runs at least the site's minimum firmware release"
MINIMUM_FIXTURE_NOTE = ("the built-in profiles name no site minimum; the unit tests pass and fail it with "
                        "minimum_firmware")
MINIMUM_REMEDIATION = ("Update the device to the release the vendor's security advisories name as fixed (or the "
                       "site's minimum) in a maintenance window, and list the minimum per model in the profile "
                       "(minimum_firmware: {'RSP20-*': '09.4.00', 'IE-4000-*': '15.2(7)E4'}).")


def firmware_key(text: str) -> tuple[int, ...] | None:
    """The release's numbers in order, or None when it has none."""
    release = re.sub(r"^HiOS-\w+-", "", text.strip())
    numbers = re.findall(r"\d+", release)
    return tuple(int(n) for n in numbers) if numbers else None


def _at_least(have: tuple[int, ...], least: tuple[int, ...]) -> bool:
    width = max(len(have), len(least))
    return have + (0,) * (width - len(have)) >= least + (0,) * (width - len(least))


def judge_minimum(version: str | None, source: str, minimums: Any, *, model: str | None = None,
                  platform: str | None = None) -> Verdict:
    """``version`` (read from ``source``) against the first ``minimums`` entry whose glob matches model or platform."""
    observed = {"model": model, "platform": platform, "firmware": version, "source": source}
    expected = "firmware >= the site's minimum (profile parameter minimum_firmware)"
    if not isinstance(minimums, dict):
        return manual(f"minimum_firmware must map model globs to versions, not {minimums!r}", expected, observed)
    if not version:  # the identity checks fail a device that does not say what it runs; here it is a question
        return manual(f"the device reports no firmware version ({source}); read it in the vendor's tool and "
                      "compare it with the site's minimum", expected, observed)
    names = [name for name in (model, platform) if name] or [""]  # nameless: only a "*" entry applies
    entry = next(((glob, least) for glob, least in minimums.items()
                  if any(fnmatch.fnmatchcase(name, str(glob)) for name in names)), None)
    if entry is None:
        return manual(f"no minimum firmware is given for {model or platform or 'this device'}; compare {version} with "
                      "the vendor's security advisories (profile parameter minimum_firmware)", expected, observed)
    glob, least = entry
    expected = f"firmware >= {least} ({glob})"
    have, wanted = firmware_key(version), firmware_key(str(least))
    if wanted is None:
        return manual(f"minimum_firmware {least!r} for {glob} is not a version", expected, observed)
    if have is None:
        return manual(f"the firmware {version!r} has no version number to compare with {least}", expected, observed)
    if not _at_least(have, wanted):
        return failed(observed, expected, f"{version} is older than {least}")
    return passed(observed, expected)
