"""Small, library-style building blocks shared by the Outcome Ledger services.

Nothing in here knows about epics, KPIs or rules: settings, problem+json errors, the
database engine and session, cursor pagination, API-key auth, money, logging and metrics.
"""
