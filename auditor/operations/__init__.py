"""Running audits over time: scheduled scans (systemd timer or cron) and forwarding outcomes to a SIEM."""
