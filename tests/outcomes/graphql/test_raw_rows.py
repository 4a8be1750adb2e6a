"""Loader statements read straight from asyncpg (`ledgerkit.graphql_rows`) give the rows
SQLAlchemy gives: same values and types, read by position, by name and through `_fields`;
statements with columns SQLAlchemy converts (JSON) still go through SQLAlchemy."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from ledgerkit.graphql_rows import LedgerRecord, fetch_rows
from outcomes.graphql import store
from outcomes.graphql.store import MeasurementFilter, Window
from tests.outcomes.graphql.helpers import app_of
from tests.outcomes.graphql.seed import seed


async def test_raw_rows_equal_sqlalchemy_rows(gql_client: httpx.AsyncClient) -> None:
    engine = app_of(gql_client).state.db.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only (elsewhere every statement goes through SQLAlchemy)")
    await seed(engine, epics=8, kpis=3, months=5, kpis_per_epic=2)
    async with engine.connect() as conn:
        epics = list((await conn.execute(select(store.E.pk))).scalars())
        kpis = list((await conn.execute(select(store.K.pk))).scalars())
        cases = [
            (store.contributions_by_epic("postgresql", Window(limit=50), None), epics),
            (
                store.measurements_by_kpi(
                    "postgresql", MeasurementFilter(segment="all"), Window(limit=3, last=True)
                ),
                kpis,
            ),
            (store.measurements_by_kpi("postgresql", MeasurementFilter(), None), kpis),
            (store._by_column("kpis", "pk", "postgresql"), kpis),  # JSON owners: SQLAlchemy
        ]
        for stmt, parents in cases:
            raw = await fetch_rows(conn, stmt, {"parents": parents})
            via_sa = list((await conn.execute(stmt, {"parents": parents})).all())
            assert raw and [tuple(r) for r in raw] == [tuple(r) for r in via_sa]
            assert [list(map(type, r)) for r in raw] == [list(map(type, r)) for r in via_sa]
            assert raw[0]._fields == via_sa[0]._fields
            name = raw[0]._fields[1]
            assert getattr(raw[0], name) == getattr(via_sa[0], name)
        # the JSON-bearing KPI statement was not read raw
        assert not isinstance(raw[0], LedgerRecord)
        assert isinstance(
            (await fetch_rows(conn, cases[0][0], {"parents": epics}))[0], LedgerRecord
        )


async def test_a_failing_raw_read_fails_as_sqlalchemy_reports_it(
    gql_client: httpx.AsyncClient,
) -> None:
    """An error on the asyncpg path is reported the way every other statement's is (a
    SQLAlchemy `DBAPIError`, which the error handling knows), not as a raw driver error."""
    engine = app_of(gql_client).state.db.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only (elsewhere every statement goes through SQLAlchemy)")
    stmt = store.contributions_by_epic("postgresql", Window(limit=50), None)
    async with engine.connect() as conn:
        with pytest.raises(DBAPIError):
            await fetch_rows(conn, stmt, {"parents": ["not a number"]})
