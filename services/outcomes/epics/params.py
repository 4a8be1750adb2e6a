"""The epic list filters as query parameters, shared by every route that lists epics
(`GET /v1/epics`, `GET /v1/exports/epics.csv`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from outcomes.epics.schemas import EpicFilters, EpicSource, EpicStatus, StreamName


def epic_filters(
    stream: Annotated[StreamName | None, Query(description="Revenue, Cost, Risk or CX.")] = None,
    status: Annotated[EpicStatus | None, Query()] = None,
    kpi: Annotated[str | None, Query(max_length=100, description="KPI slug.")] = None,
    source: Annotated[EpicSource | None, Query()] = None,
    team: Annotated[str | None, Query(max_length=200)] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Case-insensitive title/key search.")
    ] = None,
    include_archived: bool = False,
) -> EpicFilters:
    return EpicFilters(
        stream=stream,
        status=status,
        kpi=kpi,
        source=source,
        team=team,
        q=q,
        include_archived=include_archived,
    )


EpicFiltersDep = Annotated[EpicFilters, Depends(epic_filters)]
