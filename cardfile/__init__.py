"""Cardfile: a low-code data platform for service businesses."""

__version__ = "0.1.0"
