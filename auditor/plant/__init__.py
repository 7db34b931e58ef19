"""The plant being audited: its inventory (zones, assets, endpoints), where its secrets live, which
profile and SL-T apply to each asset, and the maintenance windows a scan must stay inside."""
