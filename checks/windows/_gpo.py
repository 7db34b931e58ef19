"""Group Policy paths the remediations of the Windows pack name (the Group Policy Management Editor's tree)."""

SECURITY_OPTIONS = "Computer Configuration\\Windows Settings\\Security Settings\\Local Policies\\Security Options\\"
USER_RIGHTS = "Computer Configuration\\Windows Settings\\Security Settings\\Local Policies\\User Rights Assignment\\"
ADMIN_TEMPLATES = "Computer Configuration\\Administrative Templates\\"
RDS_SESSION_HOST = (ADMIN_TEMPLATES + "Windows Components\\Remote Desktop Services\\Remote Desktop Session Host\\")
ADVANCED_AUDIT = ("Computer Configuration\\Windows Settings\\Security Settings\\Advanced Audit Policy Configuration\\"
                  "Audit Policies\\")


def registry_verify(key: str, *names: str) -> str:
    """The PowerShell that shows the registry values a check read."""
    return f"`Get-ItemProperty -Path '{key}'" + (f" -Name {', '.join(names)}`" if names else "`")
