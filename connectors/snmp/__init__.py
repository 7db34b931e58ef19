"""SNMP transport (pysnmp 7, asyncio): read-only GET / GETNEXT / GETBULK, never a SET."""
