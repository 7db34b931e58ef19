"""Siemens S7 (S7comm over ISO-on-TCP) read-only connector: Setup Communication and Read SZL only."""
