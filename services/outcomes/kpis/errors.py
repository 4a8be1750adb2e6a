"""Errors of the KPIs domain."""

from __future__ import annotations

from ledgerkit.errors import Conflict, NotFound


class KpiNotFound(NotFound):
    code, title = "kpi-not-found", "KPI not found"


class DuplicateKpiSlug(Conflict):
    code, title = "duplicate-kpi-slug", "Duplicate KPI slug"
