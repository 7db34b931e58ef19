"""Windows hosts: the composed read-only PowerShell script, independent of the transport that runs it."""
