"""``linux.mac.*`` checks: mandatory access control (SELinux or AppArmor) enforcing."""

from __future__ import annotations

from auditor.registry import check
from auditor.verdicts import Verdict, error, failed, manual, passed
from checks.linux.facts.commands import ROOT_HINT
from checks.linux.facts.system import MacState


@check("linux.mac.enforcing",
       title="Mandatory access control (SELinux or AppArmor) enforcing",
       requirements=["SR 2.1", "SR 5.4", "CR 2.1"], applies_to=["host"], severity="medium",
       remediation=("RHEL: `SELINUX=enforcing` in /etc/selinux/config, `setenforce 1`, relabel if it was disabled "
                    "(`touch /.autorelabel`, reboot). Debian/Ubuntu: `apt install apparmor apparmor-utils "
                    "apparmor-profiles`, keep `apparmor=1 security=apparmor` on the kernel command line, put profiles "
                    "in enforce mode with `aa-enforce /etc/apparmor.d/<profile>`."))
def mac_enforcing(sys_mac: MacState) -> Verdict:
    """Mandatory access control confines services beyond Unix permissions (authorisation enforcement,
    SR 2.1) and partitions applications from each other (SR 5.4), limiting what exploited code can do."""
    mac = sys_mac
    expected = "SELinux enforcing (runtime and config) or AppArmor with profiles in enforce mode"
    observed = {"selinux": mac.selinux_runtime, "selinux_config": mac.selinux_config,
                "apparmor": mac.apparmor_enabled, "apparmor_profiles": mac.apparmor_profiles}
    if mac.selinux_runtime is not None:
        if mac.selinux_runtime != "1":
            return failed(observed, expected, "SELinux is in permissive mode")
        if mac.selinux_config not in (None, "enforcing"):
            return failed(observed, expected, f"SELinux enforcing now but SELINUX={mac.selinux_config} at next boot")
        if mac.selinux_config is None:
            return manual("SELinux is enforcing now, but /etc/selinux/config could not be read, so the mode after the "
                          "next boot is unknown; verify SELINUX=enforcing there", expected, observed)
        return passed(observed, expected, "SELinux enforcing (now and at the next boot)")
    if mac.apparmor_enabled:
        if mac.apparmor_profiles is None:
            return error(f"AppArmor enabled but its profile list could not be read; {ROOT_HINT}", observed)
        enforce = mac.apparmor_profiles.get("enforce", 0)
        if enforce == 0:
            return failed(observed, expected, "AppArmor enabled but no profile is in enforce mode")
        return passed(observed, expected, f"AppArmor: {enforce} profiles enforcing, "
                      f"{mac.apparmor_profiles.get('complain', 0)} complaining")
    if mac.selinux_config == "enforcing":
        return failed(observed, expected, "SELinux configured enforcing but not active (disabled at boot?)")
    return failed(observed, expected, "neither SELinux nor AppArmor is active")
