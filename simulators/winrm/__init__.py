"""WinRM (WS-Management) test server for Windows hosts: WinRS over HTTP(S), answering from the Windows fixtures."""
