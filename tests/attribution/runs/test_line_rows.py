"""Stored line rows and the lines hash: the same as the per-line writer they replaced.

A run stored before must still verify, so the rows (text of every value) and the streamed
lines hash must not change by a byte. `_old_line_records` is that writer, verbatim.
"""

import hashlib
from decimal import Decimal
from typing import Any

from hypothesis import given, settings

from attribution.engine import (
    BenefitLine,
    EpicInput,
    InputError,
    RunResult,
    Snapshot,
    compute,
)
from attribution.engine.examples import worked_example_rules, worked_example_snapshot
from attribution.runs.lines import LineRows
from tests.attribution.engine.test_engine_equivalence import inputs

UNTAGGED = "untagged"


def _old_line_records(
    run_id: str,
    lines: tuple[BenefitLine, ...],
    first_seq: int,
    streams: dict[str, str],
    hasher: Any,
) -> list[tuple[Any, ...]]:
    plain: dict[Decimal, str] = {}
    money: dict[Decimal, str] = {}

    def f(value: Decimal) -> str:
        out = plain.get(value)
        if out is None:
            out = plain[value] = format(value, "f")
        return out

    def m(value: Decimal | None) -> str | None:
        if value is None:
            return None
        out = money.get(value)
        if out is None:
            out = money[value] = format(value, "f")
        return out

    rows: list[tuple[Any, ...]] = []
    hashed: list[str] = []
    for seq, line in enumerate(lines, first_seq):
        row = (
            run_id,
            seq,
            line.epic_id,
            line.epic_key,
            line.kpi,
            streams.get(line.kpi, UNTAGGED),
            line.period,
            f(line.uplift),
            f(line.share),
            f(line.ramp),
            m(line.period_value),
            m(line.benefit),
            m(line.cumulative),
            line.currency,
        )
        rows.append(row)
        hashed.append("\t".join(["\\N" if v is None else str(v) for v in row[1:]]))
    hasher.update(("\n".join(hashed) + "\n").encode() if hashed else b"")
    return rows


def _old(result: RunResult, streams: dict[str, str], chunk: int) -> tuple[list[Any], str]:
    hasher = hashlib.sha256()
    rows: list[Any] = []
    lines = result.lines
    for start in range(0, len(lines), chunk):
        rows += _old_line_records("r1", lines[start : start + chunk], start + 1, streams, hasher)
    return rows, hasher.hexdigest()


def _copy_unescape(text: str) -> list[str | None]:
    out: list[str | None] = []
    for field in text.split("\t"):
        if field == "\\N":
            out.append(None)
            continue
        chars, i = [], 0
        while i < len(field):
            if field[i] == "\\":
                chars.append({"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}[field[i + 1]])
                i += 2
            else:
                chars.append(field[i])
                i += 1
        out.append("".join(chars))
    return out


def assert_same_rows(result: RunResult, streams: dict[str, str]) -> None:
    old_rows, old_hash = _old(result, streams, 7)
    new_hash = hashlib.sha256()
    rows: list[Any] = []
    for chunk in LineRows("r1", result.table, streams, UNTAGGED, new_hash).row_chunks(5):
        rows += chunk
    assert rows == old_rows
    assert [tuple(map(type, r)) for r in rows] == [tuple(map(type, r)) for r in old_rows]
    assert new_hash.hexdigest() == old_hash
    copy_hash = hashlib.sha256()
    text = b"".join(LineRows("r1", result.table, streams, UNTAGGED, copy_hash).copy_chunks(3))
    assert copy_hash.hexdigest() == old_hash
    parsed = [_copy_unescape(line) for line in text.decode().split("\n")[:-1]]
    assert parsed == [[r[0], str(r[1]), *r[2:]] for r in old_rows]


def test_worked_example_rows_and_hash() -> None:
    snapshot = worked_example_snapshot()
    result = compute(worked_example_rules(), snapshot, "2026-03", "2026-06")
    assert len(result.table) > 0
    assert_same_rows(result, {k.slug: k.stream for k in snapshot.kpis})


def test_copy_text_escapes_keys() -> None:
    snapshot = worked_example_snapshot()
    odd = tuple(
        EpicInput(**{**e.__dict__, "key": e.key + "\\x\ty\nz"}) if i == 0 else e
        for i, e in enumerate(snapshot.epics)
    )
    snapshot = Snapshot(snapshot.kpis, odd, snapshot.contributions, snapshot.measurements)
    result = compute(worked_example_rules(), snapshot, "2026-03", "2026-06")
    streams = {k.slug: "Rev\\enue" for k in snapshot.kpis}
    assert_same_rows(result, streams)


@settings(max_examples=60, deadline=None)
@given(inputs())
def test_rows_and_hash_match_the_per_line_writer(
    case: tuple[dict[str, Any], Snapshot, str, str],
) -> None:
    rules, snapshot, start, end = case
    try:
        result = compute(rules, snapshot, start, end)
    except InputError:
        return
    streams = {k.slug: k.stream for k in snapshot.kpis[1:]}  # the first has none: untagged
    assert_same_rows(result, streams)
