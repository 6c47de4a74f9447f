"""stadtruf: telephony for a municipal ServiceCenter (115 and town switchboards)."""

__version__ = "0.1.0"
