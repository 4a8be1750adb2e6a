"""`ledger`: the one command-line entry point for both services."""
