"""Errors of the KPIs domain."""

from __future__ import annotations

from ledgerkit.errors import Conflict, NotFound


class KpiNotFound(NotFound):
    code, title = "kpi-not-found", "KPI not found"


class DuplicateKpiSlug(Conflict):
    code, title = "duplicate-kpi-slug", "Duplicate KPI slug"


class CadenceInUse(Conflict):
    """Changing the cadence would orphan stored measurements (their periods would no longer
    match), so it is refused while the KPI has any."""

    code, title = "kpi-cadence-in-use", "KPI cadence cannot change"
