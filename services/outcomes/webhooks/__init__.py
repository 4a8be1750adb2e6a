"""Inbound webhooks from Jira Cloud and Azure DevOps: an inbox first, then processing.

Every delivery is stored raw in `webhook_deliveries` (its own committed transaction) before
it is processed; processing runs in a second transaction through the epics and contributions
services (actor `jira` / `ado`). See docs/webhooks.md.
"""
