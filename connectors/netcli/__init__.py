"""Read-only CLI collection from network devices (switches, routers) over SSH."""
