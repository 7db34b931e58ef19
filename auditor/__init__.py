"""iacs-auditor: read-only hardening auditor for IACS components, scored against IEC 62443-3-3 and 4-2."""

__version__ = "0.1.0"
