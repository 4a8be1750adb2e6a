"""`ledger export epics`, `ledger import epics`, `ledger audit verify` — data operations on
the outcomes database, through the same domain code the API uses.

Exit codes (scripts rely on them):
- `export epics`: 0 written, 1 failed (database), 2 bad usage (unknown --format, …).
- `import epics`: 0 every row imported, 1 NOTHING imported (a row is invalid, a key is
  taken, or the database failed; a per-row report is printed on stderr), 2 bad usage.
- `audit verify`: 0 the hash chain is intact, 1 it is broken (the first broken `seq` is
  printed) or the check could not run.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

if TYPE_CHECKING:
    from ledgerkit.db import Database
    from outcomes.models import Epic

console = Console(stderr=True)
out = Console()

IMPORT_ACTOR = "cli:import"
# The import columns, in this order; `ledger export epics --format csv` writes them first.
IMPORT_COLUMNS = (
    "key",
    "title",
    "streams",
    "status",
    "team",
    "owner",
    "planned_cost",
    "currency",
    "start_date",
    "target_date",
)
EXPORT_EXTRA_COLUMNS = ("id", "source", "version", "created_at", "updated_at", "archived_at")
BATCH = 500

export_app = typer.Typer(help="Export outcomes data (stdout or --output FILE).")
import_app = typer.Typer(help="Bulk-load outcomes data: all rows or none.")
audit_app = typer.Typer(help="The outcomes change log (audit trail).")


def register(app: typer.Typer) -> None:
    """Add `export`, `import` and `audit` to the `ledger` CLI."""
    app.add_typer(export_app, name="export")
    app.add_typer(import_app, name="import")
    app.add_typer(audit_app, name="audit")


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(1)


def _database() -> Database:
    from ledgerkit.db import Database
    from outcomes.settings import OutcomesSettings

    settings = OutcomesSettings()
    return Database(str(settings.database_url), pool_size=2, max_overflow=0)


def _progress(*, total: bool = True) -> Progress:
    columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
    if total:
        columns += [BarColumn(), MofNCompleteColumn()]
    columns.append(TimeElapsedColumn())
    return Progress(*columns, console=console, transient=True)


# --- export -----------------------------------------------------------------------------


class ExportFormat(StrEnum):
    csv = "csv"
    json = "json"


def _csv_line(row: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(row)
    return buf.getvalue()


def _csv_row(epic: Epic) -> list[str]:
    from outcomes.exports.service import safe

    def iso(v: Any) -> str:
        return v.isoformat().replace("+00:00", "Z") if v is not None else ""

    from ledgerkit.timeutil import as_utc

    cost = epic.planned_cost_amount
    return [
        epic.key,
        safe(epic.title),
        ";".join(epic.streams or []),
        epic.status,
        safe(epic.team),
        safe(epic.owner),
        "" if cost is None else str(cost),
        epic.planned_cost_currency or "",
        iso(epic.start_date),
        iso(epic.target_date),
        epic.id,
        epic.source,
        str(epic.version),
        iso(as_utc(epic.created_at)),
        iso(as_utc(epic.updated_at)),
        iso(as_utc(epic.archived_at) if epic.archived_at else None),
    ]


async def _epic_batches(db: Database, include_archived: bool) -> AsyncIterator[list[Epic]]:
    """Every epic in creation order, a batch per short read transaction."""
    from outcomes.epics import store
    from outcomes.epics.schemas import EpicFilters

    filters = EpicFilters(include_archived=include_archived)
    after: int | None = None
    while True:
        async with db.session() as session:
            epics = list(await store.list_page(session, filters, after_pk=after, limit=BATCH))
        if not epics:
            return
        yield epics
        after = epics[-1].pk


async def _count_epics(db: Database, include_archived: bool) -> int:
    from sqlalchemy import func, select

    from outcomes.models import Epic

    stmt = select(func.count()).select_from(Epic)
    if not include_archived:
        stmt = stmt.where(Epic.archived_at.is_(None))
    async with db.session() as session:
        return int(await session.scalar(stmt) or 0)


async def _export(fmt: ExportFormat, sink: IO[str], include_archived: bool) -> int:
    from outcomes.epics.service import epic_read

    db = _database()
    written = 0
    try:
        total = await _count_epics(db, include_archived)
        with _progress() as progress:
            task = progress.add_task("exporting epics", total=total)
            if fmt is ExportFormat.csv:
                sink.write(_csv_line([*IMPORT_COLUMNS, *EXPORT_EXTRA_COLUMNS]))
            else:
                sink.write("[")
            async for batch in _epic_batches(db, include_archived):
                for epic in batch:
                    if fmt is ExportFormat.csv:
                        sink.write(_csv_line(_csv_row(epic)))
                    else:
                        item = json.dumps(epic_read(epic).model_dump(mode="json"))
                        sink.write(("," if written else "") + "\n  " + item)
                    written += 1
                progress.advance(task, len(batch))
            if fmt is ExportFormat.json:
                sink.write("\n]\n" if written else "]\n")
    finally:
        await db.dispose()
    return written


@export_app.command("epics")
def export_epics(
    fmt: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="csv or json.", case_sensitive=False)
    ] = ExportFormat.csv,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write to this file instead of stdout.", dir_okay=False
        ),
    ] = None,
    include_archived: Annotated[
        bool, typer.Option("--include-archived", help="Archived epics too.")
    ] = False,
) -> None:
    """Export epics as CSV (the import columns first) or as a JSON list (as the API returns
    them)."""
    try:
        if output is None:
            written = asyncio.run(_export(fmt, sys.stdout, include_archived))
            sys.stdout.flush()
        else:
            tmp = output.with_name(output.name + ".partial")
            with tmp.open("w", encoding="utf-8", newline="") as f:
                written = asyncio.run(_export(fmt, f, include_archived))
            tmp.replace(output)  # a failed export never leaves a half-written file behind
    except typer.Exit:
        raise
    except Exception as exc:
        raise _fail(f"export failed: {type(exc).__name__}: {exc}") from exc
    where = f" to {output}" if output else ""
    console.print(f"exported {written} epic(s){where}", highlight=False)


# --- import -----------------------------------------------------------------------------


@dataclass
class RowError:
    line: int
    key: str
    column: str
    message: str


@dataclass
class Parsed:
    rows: list[tuple[int, Any]] = field(default_factory=list)  # (line, EpicCreate)
    errors: list[RowError] = field(default_factory=list)


def _split_streams(cell: str) -> list[str]:
    parts = cell.replace(",", ";").split(";")
    return [p.strip() for p in parts if p.strip()]


def _row_to_body(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row as a create-epic body: empty cells are left out (unset)."""
    cells = {k: (v or "").strip() for k, v in row.items() if k is not None}
    body: dict[str, Any] = {}
    for name in ("key", "title", "status", "team", "owner", "start_date", "target_date"):
        if cells.get(name):
            body[name] = cells[name]
    if cells.get("streams"):
        body["streams"] = _split_streams(cells["streams"])
    amount, currency = cells.get("planned_cost", ""), cells.get("currency", "")
    if amount or currency:
        body["planned_cost"] = {"amount": amount, "currency": currency}
    return body


def _column_of(loc: tuple[Any, ...]) -> str:
    if not loc:
        return "-"
    head = str(loc[0])
    if head == "planned_cost" and len(loc) > 1 and loc[1] == "currency":
        return "currency"
    return head if head in IMPORT_COLUMNS else ".".join(str(p) for p in loc)


def _parse(text: str) -> Parsed:
    from pydantic import ValidationError

    from outcomes.epics.schemas import EpicCreate

    parsed = Parsed()
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in ("key", "title") if c not in header]
    unknown = [c for c in header if c not in IMPORT_COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        problems = []
        if missing:
            problems.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown column(s) {', '.join(unknown)}")
        if len(set(header)) != len(header):
            problems.append("a column appears twice")
        parsed.errors.append(
            RowError(
                1, "-", "header", "; ".join(problems) + f"; allowed: {','.join(IMPORT_COLUMNS)}"
            )
        )
        return parsed
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if None in row:  # more cells than columns
            parsed.errors.append(RowError(line, row.get("key") or "-", "-", "too many cells"))
            continue
        if not any((v or "").strip() for v in row.values()):
            continue  # blank line
        body = _row_to_body(row)
        key = str(body.get("key", "-"))
        try:
            epic = EpicCreate.model_validate(body)
        except ValidationError as exc:
            for e in exc.errors(include_url=False, include_input=False):
                parsed.errors.append(RowError(line, key, _column_of(e["loc"]), e["msg"]))
            continue
        if epic.key in seen:
            parsed.errors.append(
                RowError(line, epic.key, "key", f"duplicate key (also on line {seen[epic.key]})")
            )
            continue
        seen[epic.key] = line
        parsed.rows.append((line, epic))
    return parsed


async def _taken_keys(db: Database, keys: list[str]) -> set[str]:
    from sqlalchemy import select

    from outcomes.models import Epic

    taken: set[str] = set()
    async with db.session() as session:
        for i in range(0, len(keys), BATCH):
            chunk = keys[i : i + BATCH]
            taken.update((await session.scalars(select(Epic.key).where(Epic.key.in_(chunk)))).all())
    return taken


def _report(errors: list[RowError], total_rows: int) -> None:
    table = Table("line", "key", "column", "error", title="Rows that cannot be imported")
    for e in errors:
        table.add_row(str(e.line), e.key, e.column, e.message)
    console.print(table)
    bad_lines = len({e.line for e in errors})
    console.print(
        f"[red]error:[/red] {bad_lines} of {total_rows} row(s) are invalid "
        f"({len(errors)} problem(s)); nothing was imported.",
        highlight=False,
    )


async def _import(parsed: Parsed) -> int:
    from ledgerkit.errors import LedgerError
    from outcomes.epics.service import create_epic

    db = _database()
    try:
        taken = await _taken_keys(db, [epic.key for _, epic in parsed.rows])
        if taken:
            for line, epic in parsed.rows:
                if epic.key in taken:
                    parsed.errors.append(RowError(line, epic.key, "key", "an epic has this key"))
            parsed.errors.sort(key=lambda e: e.line)
            return -1
        with _progress() as progress:
            task = progress.add_task("importing epics", total=len(parsed.rows))
            current = 0
            try:
                async with db.session(write=True) as session:
                    for line, epic in parsed.rows:
                        current = line
                        await create_epic(session, epic, IMPORT_ACTOR)
                        progress.advance(task)
                    progress.update(task, description="committing")
            except LedgerError as exc:  # e.g. a key taken meanwhile: all rolled back
                key = next((e.key for ln, e in parsed.rows if ln == current), "-")
                parsed.errors.append(RowError(current, key, "-", exc.detail or exc.title))
                return -1
        return len(parsed.rows)
    finally:
        await db.dispose()


@import_app.command("epics")
def import_epics(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with a header row: " + ",".join(IMPORT_COLUMNS) + " (key and title "
            "required).",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
) -> None:
    """Create one epic per CSV row, all in one transaction (actor `cli:import`).

    Every row is validated first with the API's rules; if any row is bad, a per-row report
    is printed and nothing is imported (exit 1)."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"cannot read {file}: {exc}") from exc
    parsed = _parse(text)
    total = len(parsed.rows) + len({e.line for e in parsed.errors})
    if parsed.errors:
        _report(parsed.errors, total)
        raise typer.Exit(1)
    if not parsed.rows:
        console.print("no rows to import", highlight=False)
        out.print("imported 0 epic(s)")
        return
    try:
        imported = asyncio.run(_import(parsed))
    except Exception as exc:
        raise _fail(f"import failed, nothing was imported: {type(exc).__name__}: {exc}") from exc
    if imported < 0:
        _report(parsed.errors, total)
        raise typer.Exit(1)
    out.print(f"imported {imported} epic(s)")


# --- audit ------------------------------------------------------------------------------


async def _verify() -> Any:
    from outcomes.changes.service import verify_chain

    db = _database()
    try:
        async with db.session() as session:
            return await verify_chain(session)
    finally:
        await db.dispose()


@contextmanager
def _spinner(text: str) -> Iterator[None]:
    with _progress(total=False) as progress:
        progress.add_task(text, total=None)
        yield


@audit_app.command("verify")
def audit_verify(
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Re-walk the outcomes change log's hash chain: exit 0 intact, 1 broken (the first broken
    seq is printed)."""
    try:
        with _spinner("verifying the change log"):
            result = asyncio.run(_verify())
    except Exception as exc:
        raise _fail(f"could not verify the change log: {type(exc).__name__}: {exc}") from exc
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "ok": result.ok,
                    "length": result.length,
                    "head": result.head,
                    "first_broken_seq": result.first_broken_seq,
                    "reason": result.reason,
                }
            )
        )
    if result.ok:
        if not as_json:
            out.print(
                f"ok: {result.length} change(s), head {result.head or '-'}",
                highlight=False,
                soft_wrap=True,
            )
        return
    console.print(
        f"[red]broken:[/red] the chain breaks at seq {result.first_broken_seq}: "
        f"{result.reason} ({result.length} change(s) before it verify)",
        highlight=False,
    )
    raise typer.Exit(1)
