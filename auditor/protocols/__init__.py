"""Protocol knowledge shared by connectors, check packs and simulators: plain constants, no I/O, no imports.

A check pack must not reach into a connector (transport), nor a connector into a pack; what both need to
agree on (the SNMP default communities the opt-in probe sends and the check judges) lives here.
"""
