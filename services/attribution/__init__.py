"""Attribution service: finance-agreed rule sets, the benefit engine and reproducible runs."""

__version__ = "0.1.0"
