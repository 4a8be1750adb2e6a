"""All SQL of runs and their benefit lines.

Lines are written in bulk on the session's own connection (so in its transaction): COPY on
PostgreSQL (asyncpg, text format streamed as it is produced), executemany on SQLite — a
360k-line run is about a second, not minutes of ORM inserts.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from attribution.models import AttributionRun, BenefitLine

LINES: Table = BenefitLine.__table__  # type: ignore[assignment]
LINE_COLUMNS = (
    "run_id",
    "seq",
    "epic_id",
    "epic_key",
    "kpi",
    "stream",
    "period",
    "uplift",
    "share",
    "ramp",
    "period_value",
    "benefit",
    "cumulative",
    "currency",
)
_SQLITE_CHUNK = 50_000


async def insert_run(session: AsyncSession, run: AttributionRun) -> None:
    session.add(run)
    await session.flush()


async def is_postgresql(session: AsyncSession) -> bool:
    return (await session.connection()).dialect.name == "postgresql"


async def copy_lines(session: AsyncSession, chunks: AsyncIterable[bytes]) -> None:
    """PostgreSQL: COPY lines in text format (LINE_COLUMNS order, tab-separated, \\N null)
    from ``chunks`` as they are produced, on the session's connection (its transaction)."""
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    await driver.copy_to_table(LINES.name, source=chunks, columns=list(LINE_COLUMNS), format="text")


async def insert_lines(session: AsyncSession, records: Sequence[tuple[Any, ...]]) -> None:
    """Bulk insert of line tuples in LINE_COLUMNS order, in the session's transaction."""
    if not records:
        return
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    if conn.dialect.name == "postgresql":
        await driver.copy_records_to_table(LINES.name, records=records, columns=list(LINE_COLUMNS))
        return
    sql = (
        f'INSERT INTO "{LINES.name}" ({", ".join(LINE_COLUMNS)}) '
        f"VALUES ({', '.join('?' for _ in LINE_COLUMNS)})"
    )
    for start in range(0, len(records), _SQLITE_CHUNK):
        await driver.executemany(sql, records[start : start + _SQLITE_CHUNK])


async def get_run(session: AsyncSession, run_id: str) -> AttributionRun | None:
    return await session.get(AttributionRun, run_id)


async def list_runs(
    session: AsyncSession,
    limit: int,
    after: tuple[datetime, str] | None,
    *,
    ruleset_id: str | None = None,
    status: str | None = None,
) -> Sequence[AttributionRun]:
    """Newest first."""
    r = AttributionRun
    query = select(r).options().order_by(r.created_at.desc(), r.id.desc()).limit(limit)
    if ruleset_id is not None:
        query = query.where(r.ruleset_id == ruleset_id)
    if status is not None:
        query = query.where(r.status == status)
    if after is not None:
        created, rid = after
        query = query.where((r.created_at < created) | ((r.created_at == created) & (r.id < rid)))
    return (await session.execute(query)).scalars().all()


async def list_lines(
    session: AsyncSession,
    run_id: str,
    limit: int,
    after_seq: int,
    *,
    epic: str | None = None,
    kpi: str | None = None,
    stream: str | None = None,
    period: str | None = None,
) -> Sequence[Any]:
    t = LINES
    query = (
        select(t).where(t.c.run_id == run_id, t.c.seq > after_seq).order_by(t.c.seq).limit(limit)
    )
    if epic is not None:
        query = query.where((t.c.epic_key == epic) | (t.c.epic_id == epic))
    if kpi is not None:
        query = query.where(t.c.kpi == kpi)
    if stream is not None:
        query = query.where(t.c.stream == stream)
    if period is not None:
        query = query.where(t.c.period == period)
    return (await session.execute(query)).all()


async def lines_between(
    session: AsyncSession, run_id: str, after_seq: int, upto_seq: int
) -> list[tuple[Any, ...]]:
    """Stored lines with after_seq < seq <= upto_seq, without the run id, in order.

    Read with the raw driver on the session's connection: verify reads every line of a
    run, and SQLAlchemy's row processing would cost more than the comparison."""
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    cols = ", ".join(LINE_COLUMNS[1:])
    if conn.dialect.name == "postgresql":
        records = await driver.fetch(
            f'SELECT {cols} FROM "{LINES.name}" WHERE run_id = $1 AND seq > $2 AND seq <= $3 '
            "ORDER BY seq",
            run_id,
            after_seq,
            upto_seq,
        )
        return [tuple(r) for r in records]
    cursor = await driver.execute(
        f'SELECT {cols} FROM "{LINES.name}" WHERE run_id = ? AND seq > ? AND seq <= ? ORDER BY seq',
        (run_id, after_seq, upto_seq),
    )
    try:
        return [tuple(r) for r in await cursor.fetchall()]
    finally:
        await cursor.close()


async def latest_official_runs(
    session: AsyncSession, ruleset_id: str | None = None
) -> list[AttributionRun]:
    """The newest official run of each rule set."""
    r = AttributionRun
    query = select(r.id, r.ruleset_id, r.created_at).where(r.status == "official")
    if ruleset_id is not None:
        query = query.where(r.ruleset_id == ruleset_id)
    newest: dict[str, tuple[datetime, str]] = {}
    for run_id, rs, created in (await session.execute(query)).all():
        if rs not in newest or (created, run_id) > newest[rs]:
            newest[rs] = (created, run_id)
    runs = []
    for rs in sorted(newest):
        run = await session.get(r, newest[rs][1])
        if run is not None:
            runs.append(run)
    return runs
