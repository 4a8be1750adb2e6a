"""Outcomes service: the system of record for epics, KPIs, measurements and decisions."""

__version__ = "0.1.0"
