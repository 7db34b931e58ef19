"""WinRM: the Windows pack's one PowerShell script run through WinRS over WS-Management (pypsrp)."""
